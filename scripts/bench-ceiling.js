// The ceiling of `npm run bench:api`: a bare node:http server that reads a JSON body, parses it
// and answers a small JSON object, with nothing else (no authentication, no model, no database).
// What Credible's doors reach against it is printed as a ratio. Usage: node scripts/bench-ceiling.js PORT
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 3498);
const server = createServer((req, res) => {
	const chunks = [];
	req.on('data', (chunk) => chunks.push(chunk));
	req.on('end', () => {
		let fields = 0;
		try {
			const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
			fields = Object.keys(body.applicant ?? body).length;
		} catch {
			res.writeHead(400, { 'content-type': 'application/json' });
			res.end('{"error":"bad JSON"}');
			return;
		}
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end(JSON.stringify({ ok: true, fields }));
	});
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => console.log(`ceiling listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
