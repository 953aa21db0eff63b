// Parsers know where a record starts as a character offset; people want a line number.

/**
 * Turns character offsets into 1-based line numbers. Offsets usually arrive in increasing
 * order (one per row), so it walks forward from the last one: one pass over the text.
 * "\r\n", "\n" and a lone "\r" each end a line.
 */
export class LineCounter {
  private offset = 0;
  private line = 1;

  constructor(private readonly text: string) {}

  lineAt(offset: number): number {
    if (offset < this.offset) {
      this.offset = 0;
      this.line = 1;
    }
    const text = this.text;
    const end = Math.min(offset, text.length);
    for (; this.offset < end; this.offset++) {
      const c = text.charCodeAt(this.offset);
      if (c === 0x0a || (c === 0x0d && text.charCodeAt(this.offset + 1) !== 0x0a)) this.line++;
    }
    return this.line;
  }
}
