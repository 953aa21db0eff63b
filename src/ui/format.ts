// Numbers as people read them on screen.

/** "1 note", "20,016 notes". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString("en")} ${n === 1 ? noun : plural}`;
}
