import { encryptedPayloadSchema } from '@apix/protocol';
import { describe, expect, it } from 'vitest';
import { DecryptionError, exportEncryptionKey, generateEncryptionKey, importEncryptionKey, isEncryptedPayload, Keyring } from '../src/encryption.js';
import * as main from '../src/index.js';

const channel = 'agent:secret';

async function failure(promise: Promise<unknown>): Promise<DecryptionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DecryptionError);
  return error as DecryptionError;
}

describe('Keyring', () => {
  it('round-trips JSON values through an envelope the server accepts, with a fresh IV each time', async () => {
    const keyring = new Keyring().add('k1', await generateEncryptionKey());
    const value = { text: 'meet at noon', n: 3, nested: [true, null] };
    const [a, b] = [await keyring.encrypt(value, { channel }), await keyring.encrypt(value, { channel })];
    expect(encryptedPayloadSchema.parse(a)).toMatchObject({ alg: 'A256GCM', keyId: 'k1' });
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(JSON.stringify(a)).not.toContain('noon');
    expect(await keyring.decrypt(a, { channel })).toEqual(value);
  });

  it('rotates: the new primary encrypts, old keys still decrypt until removed', async () => {
    const keyring = new Keyring().add('2026-10', await generateEncryptionKey());
    const old = await keyring.encrypt('old', { channel });
    keyring.add('2026-11', await generateEncryptionKey(), { primary: true });
    const fresh = await keyring.encrypt('new', { channel });
    expect(fresh.keyId).toBe('2026-11');
    expect(await keyring.decrypt(old, { channel })).toBe('old');
    keyring.remove('2026-10');
    expect((await failure(keyring.decrypt(old, { channel }))).reason).toBe('unknown_key');
    expect(() => keyring.remove('2026-11')).toThrow(/primary/);
  });

  it('refuses a ciphertext moved to another channel, tampered with, relabelled, or not encrypted', async () => {
    const key = await generateEncryptionKey();
    const keyring = new Keyring().add('k1', key).add('k2', key);
    const envelope = await keyring.encrypt({ secret: 1 }, { channel });
    expect((await failure(keyring.decrypt(envelope, { channel: 'agent:other' }))).reason).toBe('failed');
    const flipped = envelope.ciphertext.startsWith('A') ? `B${envelope.ciphertext.slice(1)}` : `A${envelope.ciphertext.slice(1)}`;
    expect((await failure(keyring.decrypt({ ...envelope, ciphertext: flipped }, { channel }))).reason).toBe('failed');
    expect((await failure(keyring.decrypt({ ...envelope, keyId: 'k2' }, { channel }))).reason).toBe('failed');
    expect((await failure(keyring.decrypt({ text: 'plain' }, { channel }))).reason).toBe('not_encrypted');
    expect(isEncryptedPayload({ text: 'plain' })).toBe(false);
  });

  it('exports and imports keys, so other clients can share one', async () => {
    const key = await generateEncryptionKey();
    const exported = await exportEncryptionKey(key);
    expect(exported).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const sender = new Keyring().add('k', key);
    const receiver = new Keyring().add('k', await importEncryptionKey(exported));
    expect(await receiver.decrypt(await sender.encrypt('shared', { channel }), { channel })).toBe('shared');
    await expect(importEncryptionKey('short')).rejects.toThrow(/32 bytes/);
  });

  it('is not part of the main entry point (the main bundle stays small)', () => {
    expect(Object.keys(main)).not.toContain('Keyring');
    expect(Object.keys(main)).not.toContain('generateEncryptionKey');
  });
});
