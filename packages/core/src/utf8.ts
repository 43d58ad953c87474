// The one UTF-8 encoder and (lenient) decoder of core. Neither keeps state between calls, so every
// module shares them; a bundler keeps each `new TextEncoder()` it sees (it cannot prove the call
// free of side effects), so copies per module would all ship, used or not.
export const utf8 = new TextEncoder();
export const utf8Decoder = new TextDecoder();
