/** One JSON object of the report; `scenario` tells which table it belongs to. */
export type ResultRow = { scenario: string; name: string; error?: string } & Record<string, unknown>;
