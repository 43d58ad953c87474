// The request and response codes the consumer sends and reads, as plain `const`s that esbuild inlines
// (remoting/codes.ts's RequestCode / ResponseCode tables hold the same numbers: wire.test.ts checks they
// agree). A module of their own: a new declaration in remoting/codes.ts reshuffles the minified names of
// the producer's bundle. Imports nothing, so esbuild inlines them (see remoting/codes.ts).
export const RC_PULL_MESSAGE = 11;
export const RC_QUERY_CONSUMER_OFFSET = 14;
export const RC_UPDATE_CONSUMER_OFFSET = 15;
export const RC_SEARCH_OFFSET_BY_TIMESTAMP = 29;
export const RC_GET_MAX_OFFSET = 30;
export const RC_GET_MIN_OFFSET = 31;
export const RC_GET_CONSUMER_LIST_BY_GROUP = 38;
export const RC_NOTIFY_CONSUMER_IDS_CHANGED = 40;
export const RS_PULL_NOT_FOUND = 19;
export const RS_PULL_RETRY_IMMEDIATELY = 20;
export const RS_PULL_OFFSET_MOVED = 21;
export const RS_FLOW_CONTROL = 215;
