// A content hash to recognise a note seen before (the same file dropped twice, the same
// note in two exports). Not cryptographic: it only has to be stable, fast and rarely
// collide. cyrb53's two 32-bit lanes, both kept (64 bits), over the UTF-16 code units of
// the exact text: no normalisation, because notes that differ by a space have different
// offsets and are different notes.

export function contentHash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ unit, 2654435761);
    h2 = Math.imul(h2 ^ unit, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return hex32(h2) + hex32(h1);
}

function hex32(h: number): string {
  return (h >>> 0).toString(16).padStart(8, "0");
}
