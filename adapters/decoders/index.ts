/** Payload decoders: bytes of an MQTT message in, a typed event out (PayloadDecoder port). */
export { createJsonDecoder, type JsonDecoderDeps } from './json-decoder.js';
export { createTensorDecoder, TENSOR_PAYLOAD_FIELD, type TensorDecoderDeps } from './tensor-decoder.js';
export { createPipelineDecoders, pipelinePayloadLimit } from './pipeline-decoders.js';
