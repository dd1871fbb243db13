import { ApiXError, encryptedPayloadSchema } from '@apix/protocol';

/**
 * Channels marked `encrypted` take only encrypted envelopes: a plaintext publish is refused
 * before anything is appended, so a misconfigured publisher cannot leak into the log. The
 * server checks the envelope's shape only; it has no key and cannot check the content.
 */
export function assertEncryptedPayload(payload: unknown): void {
  const result = encryptedPayloadSchema.safeParse(payload);
  if (!result.success) {
    throw new ApiXError('ENCRYPTION_REQUIRED', 'this channel takes only encrypted payloads: { alg: "A256GCM", keyId, iv, ciphertext }', {
      issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
}
