// A WordPiece tokenizer built from a corpus, for encoders trained from scratch (the demo
// model, the benchmarks: no pretrained vocabulary can be downloaded on these machines).
// It is a standard Hugging Face tokenizer.json (BertNormalizer, BertPreTokenizer,
// WordPiece, [CLS] … [SEP]), so the models trained with it load in transformers.js and
// Python transformers like any BERT.
//
// The vocabulary: the special tokens, every character seen (alone and as "##c", so any
// word of known characters splits without [UNK]), then the most frequent words, then the
// most frequent word-initial pieces and "##" endings of the words left out.

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;

export interface WordPieceOptions {
  vocabSize?: number;
  lowercase?: boolean;
  /** Strip accents (BERT uncased does); keep them for Spanish or Japanese corpora. */
  stripAccents?: boolean;
  /** Words seen fewer times are left to pieces. */
  minFrequency?: number;
  /** Longest word-initial piece or ending added for left-out words. */
  maxPieceLength?: number;
  modelMaxLength?: number;
}

export interface BuiltTokenizer {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

// BERT's pre-tokenizer: runs of letters/digits/marks, or one punctuation or symbol character.
const WORD = /[\p{L}\p{N}\p{M}]+|[^\s\p{L}\p{N}\p{M}]/gu;

export function buildWordPieceTokenizer(texts: Iterable<string>, options: WordPieceOptions = {}): BuiltTokenizer {
  const { vocabSize = 8000, lowercase = true, stripAccents = false, minFrequency = 2, maxPieceLength = 5 } = options;
  const normalize = (text: string) => {
    let out = lowercase ? text.toLowerCase() : text;
    if (stripAccents) out = out.normalize("NFD").replace(/\p{Mn}/gu, "");
    return out;
  };

  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const [word] of normalize(text).matchAll(WORD)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
  }

  const vocab = new Map<string, number>();
  const add = (token: string) => {
    if (!vocab.has(token) && vocab.size < vocabSize) vocab.set(token, vocab.size);
  };
  SPECIALS.forEach(add);
  const characters = new Set<string>();
  for (const word of wordCounts.keys()) for (const character of word) characters.add(character);
  for (const character of [...characters].sort()) {
    add(character);
    add(`##${character}`);
  }

  const byFrequency = [...wordCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const wordBudget = Math.floor((vocabSize - vocab.size) * 0.8);
  let kept = 0;
  const leftOut: [string, number][] = [];
  for (const [word, count] of byFrequency) {
    if (count >= minFrequency && kept < wordBudget && [...word].length > 1) {
      add(word);
      kept++;
    } else {
      leftOut.push([word, count]);
    }
  }

  const pieceCounts = new Map<string, number>();
  for (const [word, count] of leftOut) {
    const characters = [...word];
    for (let length = 2; length <= Math.min(maxPieceLength, characters.length - 1); length++) {
      const head = characters.slice(0, length).join("");
      const tail = `##${characters.slice(-length).join("")}`;
      pieceCounts.set(head, (pieceCounts.get(head) ?? 0) + count);
      pieceCounts.set(tail, (pieceCounts.get(tail) ?? 0) + count);
    }
  }
  for (const [piece] of [...pieceCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) add(piece);

  const special = (content: string) => ({
    id: vocab.get(content)!,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const cls = { SpecialToken: { id: "[CLS]", type_id: 0 } };
  const sep = (typeId: number) => ({ SpecialToken: { id: "[SEP]", type_id: typeId } });
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map(special),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: stripAccents, lowercase },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [cls, { Sequence: { id: "A", type_id: 0 } }, sep(0)],
      pair: [cls, { Sequence: { id: "A", type_id: 0 } }, sep(0), { Sequence: { id: "B", type_id: 1 } }, sep(1)],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [vocab.get("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [vocab.get("[SEP]")], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab),
    },
  };
  const tokenizerConfig = {
    tokenizer_class: "BertTokenizer",
    do_lower_case: lowercase,
    strip_accents: stripAccents,
    model_max_length: options.modelMaxLength ?? 512,
    cls_token: "[CLS]",
    sep_token: "[SEP]",
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    mask_token: "[MASK]",
  };
  return { tokenizerJson, tokenizerConfig };
}
