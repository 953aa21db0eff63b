// Node has no IndexedDB; fake-indexeddb implements the spec so Dexie code runs unchanged.
import "fake-indexeddb/auto";
