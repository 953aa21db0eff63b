// A plain text file is one note, its id the file name without the extension.

import { InputFileError } from "../errors.ts";
import { stripExtension } from "./file-names.ts";
import type { ParsedNote } from "./types.ts";

export function parseTxt(file: string, text: string): ParsedNote[] {
  if (text.trim() === "") throw new InputFileError(file, "is empty");
  return [{ externalId: stripExtension(file), text, sourceFile: file }];
}
