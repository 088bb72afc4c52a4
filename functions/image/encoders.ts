/**
 * WebP and AVIF encoder settings for requests that set no quality: one place for the defaults and
 * the environment that carries them (variables and ranges: ENCODER_ENVIRONMENT and ENCODER_RANGES in
 * environment.ts), shared by the config, the constructs and both runtimes.
 */
import { readEnvironment } from "../shared/environment";
import { ENCODER_ENVIRONMENT, ENCODER_ENVIRONMENT_FIELDS } from "./environment";

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

/** The environment that sets `settings`. */
export function encoderEnvironment(settings: EncoderSettings): Record<string, string> {
  const keys = Object.keys(ENCODER_ENVIRONMENT) as (keyof EncoderSettings)[];
  return Object.fromEntries(keys.map((key) => [ENCODER_ENVIRONMENT[key], String(settings[key])]));
}

/** The settings the environment overrides; throws naming a variable out of its range. */
export function encoderSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): Partial<EncoderSettings> {
  const settings = readEnvironment(ENCODER_ENVIRONMENT, ENCODER_ENVIRONMENT_FIELDS, env);
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}
