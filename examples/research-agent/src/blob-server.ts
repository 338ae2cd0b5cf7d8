// The local S3-compatible server the example uses for /uploads/ when no real bucket is configured:
// the workspace's shared s3rver launcher (@agentstate/test-support), on 127.0.0.1.
import { type S3Server, startS3rver } from "@agentstate/test-support/blob-servers";

export type LocalS3 = Pick<S3Server, "endpoint" | "bucket" | "stop">;

/** Starts s3rver on a free loopback port, keeping objects in `directory`. */
export function startLocalS3(directory: string, bucket = "agentstate-demo"): Promise<LocalS3> {
  return startS3rver(bucket, { directory });
}
