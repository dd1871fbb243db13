import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('loadConfig', () => {
  it('gives working defaults with an empty environment (the embedded default)', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3000, MAX_FRAME_BYTES: 65_536, APIX_DATA_DIR: '.apix-data', PRINT_DEV_TOKEN: true });
  });

  it('parses values from strings', () => {
    expect(loadConfig({ PORT: '8080', PRINT_DEV_TOKEN: 'false', HISTORY_SIZE: '0' })).toMatchObject({ PORT: 8080, PRINT_DEV_TOKEN: false, HISTORY_SIZE: 0 });
  });

  it('refuses bad values with one line naming each variable', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/PORT="eighty"/);
    expect(message).toMatch(/LOG_LEVEL="loud"/);
  });
});
