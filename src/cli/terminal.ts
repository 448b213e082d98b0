/**
 * How the command talks to a person: colour only on a TTY and never with NO_COLOR, a spinner only
 * on a TTY, and errors as one line plus a hint.
 */

export interface Terminal {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  color: boolean;
  interactive: boolean;
}

export function terminal(
  out: NodeJS.WriteStream = process.stdout,
  err: NodeJS.WriteStream = process.stderr,
): Terminal {
  const interactive = Boolean(err.isTTY);
  return { out, err, interactive, color: interactive && !process.env.NO_COLOR };
}

const paint = (code: string) => (t: Terminal, text: string) =>
  t.color ? `\u001b[${code}m${text}\u001b[0m` : text;
export const bold = paint("1");
export const dim = paint("2");
export const red = paint("31");
export const green = paint("32");
export const cyan = paint("36");

/** Prints "msal-ts: <message>" and a hint on stderr; returns the exit code to use. */
export function fail(t: Terminal, message: string, hint?: string, code = 1): number {
  t.err.write(`${red(t, "msal-ts:")} ${message}\n`);
  if (hint) t.err.write(`${dim(t, `hint: ${hint}`)}\n`);
  return code;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A spinner on stderr while `work` runs; on a non-TTY it prints the label once. */
export async function withSpinner<T>(t: Terminal, label: string, work: Promise<T>): Promise<T> {
  if (!t.interactive) {
    t.err.write(`${label}\n`);
    return work;
  }
  let frame = 0;
  const draw = () => t.err.write(`\r${cyan(t, FRAMES[frame++ % FRAMES.length] as string)} ${label}`);
  draw();
  const timer = setInterval(draw, 100);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    t.err.write("\r\u001b[2K");
  }
}
