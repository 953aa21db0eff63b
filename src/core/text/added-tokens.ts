// Added tokens ("[MASK]", "<s>", tokens a model author added) are cut out of the text
// before normalization, as the tokenizer library does: at each position the longest added
// token that starts there wins, and lstrip/rstrip tokens swallow the whitespace beside them.

export interface AddedTokenInfo {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
  special: boolean;
  normalized: boolean;
}

/** A section of the text: [from, to) in the text split, and whether it is an added token. */
export interface Section {
  from: number;
  to: number;
  added: boolean;
}

interface TrieNode {
  children: Map<string, TrieNode>;
  end?: string;
}

export class AddedTokenSplitter {
  private readonly root: TrieNode = { children: new Map() };

  constructor(contents: readonly string[]) {
    for (const content of contents) {
      let node = this.root;
      for (const unit of content) {
        let child = node.children.get(unit);
        if (!child) node.children.set(unit, (child = { children: new Map() }));
        node = child;
      }
      node.end = content;
    }
  }

  /** Sections as the library's DictionarySplitter cuts them (UTF-16 units, longest match first). */
  split(text: string): Section[] {
    const out: Section[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      let node: TrieNode | undefined = this.root;
      let match: string | undefined;
      for (let j = i; j < text.length && (node = node.children.get(text[j])); j++) {
        if (node.end) match = node.end;
      }
      if (match) {
        if (i > start) out.push({ from: start, to: i, added: false });
        out.push({ from: i, to: i + match.length, added: true });
        i += match.length;
        start = i;
      } else {
        i++;
      }
    }
    if (start < text.length) out.push({ from: start, to: text.length, added: false });
    return out;
  }
}

/**
 * Applies lstrip/rstrip: the section before an lstrip token loses its trailing whitespace,
 * the one after an rstrip token its leading whitespace (as String.trimEnd/trimStart).
 */
export function stripAroundAddedTokens(
  text: string,
  sections: Section[],
  lookup: (content: string) => AddedTokenInfo | undefined,
): Section[] {
  const out = sections.map((s) => ({ ...s }));
  out.forEach((section, i) => {
    const token = lookup(text.slice(section.from, section.to));
    if (!token) return;
    if (token.lstrip && i > 0) {
      const prev = out[i - 1];
      prev.to = prev.from + text.slice(prev.from, prev.to).trimEnd().length;
    }
    if (token.rstrip && i < out.length - 1) {
      const next = out[i + 1];
      const piece = text.slice(next.from, next.to);
      next.from += piece.length - piece.trimStart().length;
    }
  });
  return out;
}
