/** The receive stage: OTLP and Pyroscope servers, validation, enrichment, and received profiles in both forms. */
export { createTokenCheck, type TokenCheck } from './bearer-token.js';
export { OTLP_PROFILES_HTTP_PATH, PYROSCOPE_CONNECT_PUSH_PATH, PYROSCOPE_INGEST_PATH } from './http-receiver.js';
export { OTLP_PROFILES_EXPORT_PATH, type ReceiverServer } from './otlp-grpc-receiver.js';
export { otlpToProfiles } from './otlp-to-profiles.js';
export { createLoadShedder, type LoadShedder, type LoadShedderOptions, type Refused } from './load-shedder.js';
export { decodeExportProfilesRequest } from './otlp-decode.js';
export { InvalidRequestError, validateOtlpRequest, type ValidatedRequest } from './otlp-validation.js';
export { pprofSeriesToOtlp, type PprofSeries } from './pprof-input.js';
export { createProfileIntake, type IntakeOutcome, type ProfileIntake } from './profile-intake.js';
export { startProfileReceiver, type ProfileReceiver, type ProfileReceiverDeps } from './profile-receiver.js';
export { profileTypeName } from '../profile/pyroscope-names.js';
export { createReceivedAccumulator, type ReceivedAccumulator } from './received-accumulator.js';
export { receivedProfiles, type ReceivedProfile, type ReceivedProfiles, type ReceivedProtocol } from './received-profiles.js';
export { createReceiverMetrics, type ReceiverMetrics, type RejectReason } from './receiver-metrics.js';
export { createResourceEnricher, type NodeAttributes, type ResourceDescriber, type ResourceEnricher } from './resource-enricher.js';
