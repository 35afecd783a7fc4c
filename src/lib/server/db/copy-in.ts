/**
 * COPY … FROM STDIN on PostgreSQL, through node-postgres and pg-copy-streams: the bulk path of the
 * prediction writer. PostgreSQL spends about 40 % less CPU taking rows in by COPY than by an INSERT
 * that expands a JSON document (docs/performance.md). It is not done with postgres.js, the
 * application's driver, because its COPY stream never settles when the server rejects the data
 * (porsager/postgres#1173): a failed write would hang instead of answering 503. Its sockets also
 * leave Nagle's algorithm on, which holds the closing CopyDone message back behind a delayed ACK.
 */
import type { Pool } from 'pg';

/** A parameterised statement, as node-postgres takes it. */
export interface Statement {
	text: string;
	params: unknown[];
}

export interface CopyIn {
	/**
	 * Runs `statement` (a `COPY … FROM STDIN`) with `data` in the format it names, in a transaction
	 * of its own: resolves once PostgreSQL has committed it, rejects with the server's error otherwise.
	 * `then`, when given, is one more statement run in that transaction, after the COPY.
	 * `timeoutMs`, when given, is the transaction's `statement_timeout`.
	 */
	copyIn(statement: string, data: string | Uint8Array, then?: Statement, timeoutMs?: number): Promise<void>;
	close(): Promise<void>;
}

/** A pool of at most `poolSize` connections for COPY, opened on first use. */
export async function openCopyIn(url: string, poolSize: number): Promise<CopyIn> {
	const { default: pg } = await import('pg');
	const { from: copyFrom } = await import('pg-copy-streams');
	const pool: Pool = new pg.Pool({
		connectionString: withLibpqSslModes(url),
		max: poolSize,
		// As the main pool: fail fast while the database is down, so that callers can answer 503.
		connectionTimeoutMillis: 5_000,
		idleTimeoutMillis: 30_000
	});
	// An idle connection that breaks (database restart) is dropped by the pool; nothing to do here.
	pool.on('error', () => {});
	return {
		async copyIn(statement, data, then, timeoutMs) {
			const client = await pool.connect();
			let failure: Error | undefined;
			const transaction = then !== undefined || timeoutMs !== undefined;
			try {
				if (transaction) await client.query('begin');
				if (timeoutMs !== undefined)
					await client.query(`set local statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
				await new Promise<void>((resolve, reject) => {
					const stream = client.query(copyFrom(statement));
					stream.on('error', reject);
					stream.on('finish', resolve);
					stream.end(data);
				});
				if (then) await client.query(then.text, then.params);
				if (transaction) await client.query('commit');
			} catch (error) {
				failure = error instanceof Error ? error : new Error(String(error));
				throw failure;
			} finally {
				// After a failure the connection is not reused: whatever broke, the next COPY starts clean.
				client.release(failure ?? false);
			}
		},
		close: () => pool.end()
	};
}

/**
 * The URL with `sslmode` read as libpq and postgres.js read it. node-postgres, by default, takes
 * `require` (and `prefer`, `verify-ca`) for `verify-full`: against a server whose certificate it
 * cannot verify, every COPY would fail while the application's own queries, through postgres.js,
 * succeed. `uselibpqcompat=true` gives node-postgres libpq's meanings; a URL that says otherwise
 * is left as it is.
 */
export function withLibpqSslModes(url: string): string {
	const parsed = new URL(url);
	if (!parsed.searchParams.has('sslmode') || parsed.searchParams.has('uselibpqcompat')) return url;
	parsed.searchParams.set('uselibpqcompat', 'true');
	return parsed.toString();
}
