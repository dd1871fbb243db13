import { z } from 'zod';

/**
 * End-to-end encrypted payloads (docs/encryption.md). On a channel marked `encrypted` every
 * publish's `payload` must be this envelope; the server checks its shape, stores and routes
 * it, and cannot read it (keys live only with the applications; `@apix/sdk/encryption`).
 *
 * - `alg`: AES-256-GCM (WebCrypto `AES-GCM`, 128-bit tag appended to the ciphertext);
 * - `keyId`: which key of the application's keyring encrypted it (rotation);
 * - `iv`: 96 random bits, base64url (16 characters);
 * - `ciphertext`: base64url of ciphertext ‖ tag.
 */
export const ENCRYPTION_ALGORITHM = 'A256GCM';

const base64url = /^[A-Za-z0-9_-]*$/;

export const encryptedPayloadSchema = z.strictObject({
  alg: z.literal(ENCRYPTION_ALGORITHM),
  keyId: z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'keyId must be 1-128 of A-Z a-z 0-9 . _ : -'),
  iv: z.string().length(16).regex(base64url, 'iv must be base64url'),
  // At least the 16-byte tag (22 base64url characters).
  ciphertext: z.string().min(22).regex(base64url, 'ciphertext must be base64url'),
});
export type EncryptedPayload = z.infer<typeof encryptedPayloadSchema>;
