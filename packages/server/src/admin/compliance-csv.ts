import type { AuditEntryView } from './views.js';

const COLUMNS = ['sequence', 'createdAt', 'actorType', 'actorId', 'action', 'channel', 'target', 'outcome', 'details'] as const;

/**
 * Audit entries as CSV (RFC 4180): a header row, CRLF line ends, every field that holds a
 * comma, quote or line break quoted with inner quotes doubled, `details` as JSON.
 *
 * Fields are partly application-supplied (`POST /audit/log-event`), and compliance reports
 * get opened in spreadsheets: a text field starting with `=`, `+`, `-`, `@`, tab or CR is
 * prefixed with `'` so it is shown, never evaluated as a formula (OWASP "CSV injection").
 */
export function toComplianceCsv(entries: readonly AuditEntryView[]): string {
  const lines = [COLUMNS.join(',')];
  for (const entry of entries) {
    lines.push(
      [
        String(entry.sequence),
        entry.createdAt,
        text(entry.actorType),
        text(entry.actorId),
        text(entry.action),
        text(entry.channel),
        text(entry.target),
        text(entry.outcome),
        text(JSON.stringify(entry.details)),
      ].join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

function text(value: string | null): string {
  if (value === null) return '';
  const neutralised = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(neutralised) ? `"${neutralised.replaceAll('"', '""')}"` : neutralised;
}
