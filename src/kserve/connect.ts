/**
 * One way to get a v2 client for a URL: http:// and https:// speak REST
 * (KServeClient), grpc:// and grpcs:// gRPC (KServeGrpcClient). The worker and
 * the model's health check both go through here, so a model's URL means the
 * same thing to each.
 */
import { KServeClient, type InferenceClient, type KServeClientOptions } from './client.js';
import { KServeGrpcClient } from './grpc-client.js';

export function kserveClient(options: KServeClientOptions): InferenceClient {
  return /^grpcs?:/i.test(String(options.url)) ? new KServeGrpcClient(options) : new KServeClient(options);
}
