/** APIX version, reported by the status endpoint and the OpenAPI document. */
export const APIX_VERSION = '0.1.0';
