// Runs s3rver in its own process. It must be started with --openssl-legacy-provider: s3rver
// encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17+) only
// offers through the legacy provider; without it every truncated listing fails with a 500.
import S3rver from "s3rver";

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
process.stdout.write(`listening ${port}\n`);
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
