/**
 * End-to-end encrypted payloads for APIX channels marked `encrypted` (docs/encryption.md).
 * A separate entry point, `@apix/sdk/encryption`, so applications that do not encrypt do not
 * ship it. WebCrypto only (browsers, Node ≥ 20, Deno, workers): AES-256-GCM with a random
 * 96-bit IV per message, keys identified by id in a keyring so they can rotate.
 *
 * ```ts
 * import { Keyring, generateEncryptionKey } from '@apix/sdk/encryption';
 * const keyring = new Keyring();
 * keyring.add('2026-11', await generateEncryptionKey(), { primary: true });
 * await client.publish('agent:secret', { type: 'note', payload: await keyring.encrypt({ text: 'hi' }, { channel: 'agent:secret' }) });
 * sub.on('publication', async (ctx) => console.log(await keyring.decrypt(ctx.event.payload, { channel: 'agent:secret' })));
 * ```
 */
import { ENCRYPTION_ALGORITHM, encryptedPayloadSchema, type EncryptedPayload } from '@apix/protocol';

export { ENCRYPTION_ALGORITHM, type EncryptedPayload };

/** AES-GCM IV length: 96 bits, the size GCM is designed for. */
const IV_BYTES = 12;
const KEY_BITS = 256;
/** Associated data version: changing how AAD is built needs a new prefix. */
const AAD_PREFIX = 'apix-e2e-v1:';

export type DecryptionFailure = 'not_encrypted' | 'unknown_key' | 'failed';

/** Decryption failed: not an envelope, a key this keyring does not hold, or a tampered/wrong-channel ciphertext. */
export class DecryptionError extends Error {
  override name = 'DecryptionError';
  readonly reason: DecryptionFailure;
  readonly keyId: string | undefined;

  constructor(reason: DecryptionFailure, message: string, keyId?: string) {
    super(message);
    this.reason = reason;
    this.keyId = keyId;
  }
}

/** Binds a ciphertext to where it belongs: decrypting it on another channel fails. */
export interface EncryptionContext {
  readonly channel?: string;
}

function subtle(): SubtleCrypto {
  const api = globalThis.crypto?.subtle;
  if (!api) throw new Error('WebCrypto (crypto.subtle) is not available: a secure context (https) or Node >= 20 is needed');
  return api;
}

/** A new random AES-256-GCM key (extractable, so it can be exported and shared with other clients). */
export function generateEncryptionKey(): Promise<CryptoKey> {
  return subtle().generateKey({ name: 'AES-GCM', length: KEY_BITS }, true, ['encrypt', 'decrypt']);
}

/** Imports a raw 32-byte key, given as bytes or base64url (what `exportEncryptionKey` gives). */
export async function importEncryptionKey(raw: Uint8Array | string): Promise<CryptoKey> {
  let bytes: Uint8Array;
  try {
    bytes = typeof raw === 'string' ? fromBase64Url(raw) : raw;
  } catch {
    bytes = new Uint8Array(0);
  }
  if (bytes.length !== KEY_BITS / 8) throw new Error(`an encryption key is ${KEY_BITS / 8} bytes (43 base64url characters), got ${bytes.length} bytes`);
  return subtle().importKey('raw', bytes as BufferSource, { name: 'AES-GCM' }, true, ['encrypt', 'decrypt']);
}

/** The raw key as base64url, to hand to other clients over a channel APIX does not see. */
export async function exportEncryptionKey(key: CryptoKey): Promise<string> {
  return toBase64Url(new Uint8Array(await subtle().exportKey('raw', key)));
}

/** Whether `value` has the shape of an encrypted envelope. */
export function isEncryptedPayload(value: unknown): value is EncryptedPayload {
  return encryptedPayloadSchema.safeParse(value).success;
}

/**
 * Keys by id. New messages are encrypted with the primary key; any key still in the ring can
 * decrypt. Rotation: add the new key everywhere (not primary), then make it primary on the
 * publishers, then remove the old key once nothing encrypted with it is needed (history
 * retention passed).
 */
export class Keyring {
  readonly #keys = new Map<string, CryptoKey>();
  #primary: string | undefined;

  add(keyId: string, key: CryptoKey, options: { primary?: boolean } = {}): this {
    if (!/^[A-Za-z0-9._:-]{1,128}$/.test(keyId)) throw new Error('keyId must be 1-128 of A-Z a-z 0-9 . _ : -');
    this.#keys.set(keyId, key);
    if (options.primary || this.#primary === undefined) this.#primary = keyId;
    return this;
  }

  setPrimary(keyId: string): this {
    if (!this.#keys.has(keyId)) throw new Error(`no key ${keyId} in the keyring`);
    this.#primary = keyId;
    return this;
  }

  /** Retires a key: what it encrypted can no longer be read here. The primary key cannot be removed. */
  remove(keyId: string): this {
    if (keyId === this.#primary) throw new Error('make another key primary before removing this one');
    this.#keys.delete(keyId);
    return this;
  }

  get primaryKeyId(): string | undefined {
    return this.#primary;
  }

  has(keyId: string): boolean {
    return this.#keys.has(keyId);
  }

  /** Encrypts `value` (anything JSON can carry) with the primary key. */
  async encrypt(value: unknown, context: EncryptionContext = {}): Promise<EncryptedPayload> {
    const keyId = this.#primary;
    if (keyId === undefined) throw new Error('the keyring has no key: add one first');
    const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const plaintext = new TextEncoder().encode(JSON.stringify(value ?? null));
    const sealed = await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: associatedData(keyId, context) }, this.#keys.get(keyId)!, plaintext);
    return { alg: ENCRYPTION_ALGORITHM, keyId, iv: toBase64Url(iv), ciphertext: toBase64Url(new Uint8Array(sealed)) };
  }

  /** Decrypts an envelope; throws DecryptionError when it cannot (see `reason`). */
  async decrypt<T = unknown>(envelope: unknown, context: EncryptionContext = {}): Promise<T> {
    if (!isEncryptedPayload(envelope)) throw new DecryptionError('not_encrypted', 'not an encrypted payload');
    const key = this.#keys.get(envelope.keyId);
    if (key === undefined) throw new DecryptionError('unknown_key', `no key ${envelope.keyId} in the keyring`, envelope.keyId);
    let plaintext: ArrayBuffer;
    try {
      plaintext = await subtle().decrypt(
        { name: 'AES-GCM', iv: fromBase64Url(envelope.iv) as BufferSource, additionalData: associatedData(envelope.keyId, context) },
        key,
        fromBase64Url(envelope.ciphertext) as BufferSource,
      );
    } catch {
      throw new DecryptionError('failed', 'the payload could not be decrypted (wrong key, another channel, or tampered with)', envelope.keyId);
    }
    return JSON.parse(new TextDecoder().decode(plaintext)) as T;
  }
}

/** AAD: the key id and the channel, so a ciphertext moved to another channel (or relabelled) fails to decrypt. */
function associatedData(keyId: string, context: EncryptionContext): BufferSource {
  return new TextEncoder().encode(`${AAD_PREFIX}${keyId}:${context.channel ?? ''}`) as BufferSource;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
