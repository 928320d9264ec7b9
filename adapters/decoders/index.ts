/** Payload decoders: bytes of an MQTT message in, a typed event out (PayloadDecoder port). */
export { createJsonDecoder, type JsonDecoderDeps } from './json-decoder.js';
