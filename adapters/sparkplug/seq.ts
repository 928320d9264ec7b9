/**
 * Sparkplug B sequence numbers (3.0 §6.4.1): every NDATA, DBIRTH, DDATA and DDEATH of an edge node carries
 * the previous message's `seq` plus one, 0–255, wrapping to 0 after 255; NBIRTH starts the count.
 */

export const SEQ_MODULUS = 256;

/** `next`: in order; `repeat`: the last one again (a QoS 1 redelivery); `gap`: messages were lost. */
export type SeqStep = 'next' | 'repeat' | 'gap';

export function seqStep(last: number, seq: number): SeqStep {
  if (seq === (last + 1) % SEQ_MODULUS) return 'next';
  if (seq === last) return 'repeat';
  return 'gap';
}

/** A seq as it must be: an integer 0–255; anything else is refused like a missing one. */
export function validSeq(seq: number | null): seq is number {
  return seq !== null && Number.isInteger(seq) && seq >= 0 && seq < SEQ_MODULUS;
}
