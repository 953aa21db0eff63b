// Files from a drop or a picker, with folder paths kept: a dropped folder is walked
// through the FileSystem entry API, and a folder picker gives webkitRelativePath.
import type { NamedFile } from "../../workers/import-api.ts";

export async function filesFromDrop(transfer: DataTransfer): Promise<NamedFile[]> {
  const entries = [...transfer.items]
    .filter((item) => item.kind === "file")
    .map((item) => ({ entry: item.webkitGetAsEntry?.() ?? null, file: item.getAsFile() }));
  const files: NamedFile[] = [];
  for (const { entry, file } of entries) {
    if (entry?.isDirectory) files.push(...(await walk(entry as FileSystemDirectoryEntry, `${entry.name}/`)));
    else if (file) files.push({ name: file.name, file });
  }
  return files;
}

export function filesFromInput(list: FileList): NamedFile[] {
  return [...list].map((file) => ({ name: file.webkitRelativePath || file.name, file }));
}

async function walk(directory: FileSystemDirectoryEntry, prefix: string): Promise<NamedFile[]> {
  const files: NamedFile[] = [];
  for (const entry of await readAll(directory.createReader())) {
    if (entry.isDirectory) files.push(...(await walk(entry as FileSystemDirectoryEntry, `${prefix}${entry.name}/`)));
    else {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      files.push({ name: `${prefix}${entry.name}`, file });
    }
  }
  return files;
}

/** readEntries answers in pages (100 in Chromium) until it returns an empty one. */
async function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  const all: FileSystemEntry[] = [];
  for (;;) {
    const page = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (page.length === 0) return all;
    all.push(...page);
  }
}
