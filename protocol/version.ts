/** The wire protocol version. Bump it on any incompatible change to PROTOCOL.md. */
export const PROTOCOL_VERSION = 2;

/** URL path of the WebSocket endpoint, below the server's optional base path. */
export const ENDPOINT_PATH = '/v1/ws';

/** Response header of the WebSocket upgrade: `<server version>; protocol=<protocol version>`. */
export const SERVER_VERSION_HEADER = 'x-pareco-server';
