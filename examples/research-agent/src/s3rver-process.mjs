// Runs s3rver (a local S3-compatible server) in its own process on 127.0.0.1.
// Started with --openssl-legacy-provider: s3rver encrypts listing continuation tokens with DES,
// which OpenSSL 3 offers only through the legacy provider.
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
