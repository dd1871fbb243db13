#!/usr/bin/env node
import { ConfigError } from './config/config.js';
import { UsageError, type CliCommand, type CliIo } from './cli/cli-command.js';
import { migrateCommand } from './cli/migrate-command.js';
import { publishCommand } from './cli/publish-command.js';
import { statusCommand } from './cli/status-command.js';
import { tailCommand } from './cli/tail-command.js';
import { tokenCommand } from './cli/token-command.js';

const COMMANDS: readonly CliCommand[] = [tokenCommand, publishCommand, tailCommand, statusCommand, migrateCommand];

const USAGE = `usage: apix <command> [options]

${COMMANDS.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`).join('\n')}

\`apix <command> --help\` for a command's options. The server itself starts with \`npm start\`.
Environment: APIX_URL and APIX_TOKEN (publish, tail, status); APIX_DATA_DIR, DATABASE_URL (token, migrate).`;

const HELP = new Set(['--help', '-h', 'help']);

/** `apix …`: help goes to stdout with exit 0; bad usage to stderr with exit 2; failures exit 1. */
async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || HELP.has(name)) {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (name === undefined) {
      io.err(`${USAGE}\n`);
      return 2;
    }
    io.out(`${topic?.usage ?? USAGE}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`apix: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  if (rest.some((arg) => arg === '--help' || arg === '-h')) {
    io.out(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`apix ${command.name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.err(`apix: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

runCli(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: process.env }).then(
  (code) => {
    process.exitCode = code;
    // Normally nothing is left open and the process ends now; if something lingers, do not hang the shell.
    setTimeout(() => process.exit(code), 1_000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`apix: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
