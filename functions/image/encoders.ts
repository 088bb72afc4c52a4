/**
 * WebP and AVIF encoder settings for requests that set no quality: one place for the defaults, the
 * environment variables that override them and their ranges (shared by the config, the constructs
 * and both runtimes).
 */

/**
 * Chosen for a CDN origin, where every cache miss waits on the encoder: effort 2 keeps WebP and AVIF
 * near their best size at a fraction of the default effort's CPU (sizes and times in the README's
 * Performance section).
 */
export interface EncoderSettings {
  readonly webpQuality: number;
  /** libwebp effort: 0 (fastest) – 6. */
  readonly webpEffort: number;
  readonly avifQuality: number;
  /** AVIF effort: 0 (fastest) – 9. */
  readonly avifEffort: number;
}

export const DEFAULT_ENCODER_SETTINGS: EncoderSettings = {
  webpQuality: 80,
  webpEffort: 2,
  avifQuality: 50,
  avifEffort: 2,
};

/** Each setting's environment variable and allowed range. */
export const ENCODER_VARIABLES: Readonly<Record<keyof EncoderSettings, { name: string; min: number; max: number }>> = {
  webpQuality: { name: "WEBP_QUALITY", min: 1, max: 100 },
  webpEffort: { name: "WEBP_EFFORT", min: 0, max: 6 },
  avifQuality: { name: "AVIF_QUALITY", min: 1, max: 100 },
  avifEffort: { name: "AVIF_EFFORT", min: 0, max: 9 },
};

/** The environment that sets `settings`. */
export function encoderEnvironment(settings: EncoderSettings): Record<string, string> {
  return Object.fromEntries(
    Object.entries(ENCODER_VARIABLES).map(([key, { name }]) => [name, String(settings[key as keyof EncoderSettings])]),
  );
}

/** The settings the environment overrides; throws naming a variable out of its range. */
export function encoderSettingsFromEnv(env: NodeJS.ProcessEnv): Partial<EncoderSettings> {
  const settings: Partial<Record<keyof EncoderSettings, number>> = {};
  for (const [key, { name, min, max }] of Object.entries(ENCODER_VARIABLES)) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    settings[key as keyof EncoderSettings] = value;
  }
  return settings;
}
