import { InvalidArgumentError } from 'commander';
import { parseDuration } from './parse-duration.js';
import { parseSize } from './parse-size.js';

/** Wraps a parser so commander reports its failure as a one-line usage error naming the option. */
function commanderParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

export const sizeOption = (min: number, max: number) =>
  commanderParser((text) => {
    const bytes = parseSize(text);
    if (bytes < min || bytes > max) throw new Error(`must be between ${min} and ${max} bytes`);
    return bytes;
  });

/** A rate in bytes per second: a size, optionally followed by `/s` (10M, 500K/s). */
export const rateOption = (min: number) =>
  commanderParser((text) => {
    const bytes = parseSize(text.replace(/\/s$/i, ''));
    if (bytes < min) throw new Error(`must be at least ${min} bytes per second`);
    return bytes;
  });

export const durationOption = (min = 1) =>
  commanderParser((text) => {
    const ms = parseDuration(text);
    if (ms < min) throw new Error(`must be at least ${min}ms`);
    return ms;
  });

export const integerOption = (min: number, max: number) =>
  commanderParser((text) => {
    if (!/^\d+$/.test(text.trim())) throw new Error(`${JSON.stringify(text)} is not a whole number`);
    const value = Number(text);
    if (value < min || value > max) throw new Error(`must be from ${min} to ${max}`);
    return value;
  });

/** For repeatable options: collects every value in order. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];
