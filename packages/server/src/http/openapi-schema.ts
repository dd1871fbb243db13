import { z } from 'zod';

/**
 * Building blocks of the OpenAPI document, shared by every path file: schemas come from the
 * same zod contracts the controllers validate with, so the docs cannot drift from the checks.
 */
export const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>;

export const jsonBody = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema: jsonSchema(schema, 'input') } } });

export const okResponse = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema: jsonSchema(schema, 'output') } } });

/** An error response: `{ error: { code, message, retryable } }` (components/schemas/Error). */
export const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** Query parameters, one per property of a (strict) query schema. */
export function queryParameters(schema: z.ZodType): Array<Record<string, unknown>> {
  const { properties = {}, required = [] } = jsonSchema(schema, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(properties).map(([name, property]) => ({ name, in: 'query', required: required.includes(name), schema: property }));
}
