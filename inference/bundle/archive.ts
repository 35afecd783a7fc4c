/**
 * A bundle as one archive: a tar file (gzip-compressed or not, as `tar -czf` and `tar -cf` write
 * it) holding `manifest.json`, `model.onnx`, `golden.jsonl` and `MODEL_CARD.md`, at its root or in
 * one folder. Only those four names are taken; links, devices and other names are refused, so an
 * archive can never write outside the folder it is unpacked into.
 */
import { gunzipSync } from 'node:zlib';

export const BUNDLE_FILES = ['manifest.json', 'model.onnx', 'golden.jsonl', 'MODEL_CARD.md'] as const;
export type BundleFile = (typeof BUNDLE_FILES)[number];

/** Why an archive was refused, in words for the uploader. */
export class ArchiveInvalid extends Error {
	override name = 'ArchiveInvalid';
}

const BLOCK = 512;

/**
 * Reads the four bundle files out of a tar (or tar.gz) archive.
 * @throws {ArchiveInvalid} not a tar archive, a file missing or twice, an entry that is not a plain bundle file, more than `maxBytes` unpacked
 */
export function readBundleArchive(bytes: Uint8Array, maxBytes: number): Map<BundleFile, Uint8Array> {
	let tar = bytes;
	if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
		try {
			tar = gunzipSync(bytes, { maxOutputLength: maxBytes + BLOCK * 16 });
		} catch (error) {
			throw new ArchiveInvalid(`not a readable gzip file (${(error as Error).message})`);
		}
	}
	const files = new Map<BundleFile, Uint8Array>();
	let folder: string | null = null;
	let total = 0;
	for (let offset = 0; offset + BLOCK <= tar.length;) {
		const header = tar.subarray(offset, offset + BLOCK);
		if (header.every((b) => b === 0)) break;
		if (!checksumOk(header)) throw new ArchiveInvalid('not a tar archive (bad header checksum)');
		const name = text(header, 345, 155)
			? `${text(header, 345, 155)}/${text(header, 0, 100)}`
			: text(header, 0, 100);
		const size = Number.parseInt(text(header, 124, 12).trim() || '0', 8);
		const type = String.fromCharCode(header[156] ?? 0);
		if (!Number.isFinite(size) || size < 0) throw new ArchiveInvalid(`entry ${name}: bad size`);
		const start = offset + BLOCK;
		offset = start + Math.ceil(size / BLOCK) * BLOCK;
		if (start + size > tar.length) throw new ArchiveInvalid(`entry ${name}: the archive is truncated`);
		// pax and GNU long-name headers describe the next entry; plain bundle names never need them.
		if (type === 'x' || type === 'g') continue;
		if (type === '5') continue;
		if (type !== '0' && type !== '\0')
			throw new ArchiveInvalid(`entry ${name}: only plain files are allowed`);
		const parts = name.replace(/^\.\//, '').split('/').filter(Boolean);
		const base = parts.at(-1) ?? '';
		const dir = parts.slice(0, -1).join('/');
		if (parts.length > 2 || parts.some((p) => p === '..') || !isBundleFile(base)) {
			throw new ArchiveInvalid(`entry ${name}: not one of ${BUNDLE_FILES.join(', ')}`);
		}
		if (folder !== null && folder !== dir) throw new ArchiveInvalid('the bundle files must be in one folder');
		folder = dir;
		if (files.has(base)) throw new ArchiveInvalid(`${base} appears twice`);
		total += size;
		if (total > maxBytes) throw new ArchiveInvalid(`more than ${maxBytes} bytes unpacked`);
		files.set(base, tar.slice(start, start + size));
	}
	const missing = BUNDLE_FILES.filter((f) => !files.has(f));
	if (missing.length > 0) throw new ArchiveInvalid(`missing ${missing.join(', ')}`);
	return files;
}

function isBundleFile(name: string): name is BundleFile {
	return (BUNDLE_FILES as readonly string[]).includes(name);
}

function text(block: Uint8Array, start: number, length: number): string {
	const field = block.subarray(start, start + length);
	const end = field.indexOf(0);
	return new TextDecoder().decode(end === -1 ? field : field.subarray(0, end));
}

/** The header checksum: the sum of its bytes with the checksum field read as spaces. */
function checksumOk(header: Uint8Array): boolean {
	const stored = Number.parseInt(text(header, 148, 8).trim(), 8);
	let sum = 0;
	for (let i = 0; i < BLOCK; i += 1) sum += i >= 148 && i < 156 ? 32 : (header[i] ?? 0);
	return sum === stored;
}
