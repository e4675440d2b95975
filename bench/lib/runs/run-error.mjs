/** A run that failed or produced a wrong copy: reported as its message, without a stack. */
export class RunError extends Error {}
