/** The environment teal hands to processes it starts: its own, minus its settings and secrets. */

const TEAL_OWN_ENV = new Set([
  "TEAL_TOKEN",
  "TEAL_ADMIN",
  "TEAL_CONFIG",
  "TEAL_DATA_DIR",
  "TEAL_LOG_FORMAT",
  "TEAL_LOG_LEVEL",
  "TEAL_PROXY_SETTINGS",
]);

export function inheritedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !TEAL_OWN_ENV.has(key)) env[key] = value;
  }
  return env;
}
