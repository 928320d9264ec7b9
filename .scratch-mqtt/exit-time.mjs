const t0 = Date.now();
process.on('exit', () => console.error('EXIT at', Date.now() - t0));
setInterval(() => { const h = process._getActiveHandles().map(h => h.constructor.name); console.error('t', Date.now() - t0, h.join(',')); }, 500).unref();
