/**
 * How the local Jamf Pro server answers: JSON (the Jamf Pro API, with its ApiError shape for errors) and the Classic
 * API's HTML error pages.
 */
import type { ServerResponse } from 'node:http';

/** A Jamf Pro API error body (ApiError). */
export function apiError(res: ServerResponse, status: number, code: string, description: string, field = ''): void {
  sendJson(res, status, { httpStatus: status, errors: status === 401 ? [] : [{ code, description, field, id: '0' }] });
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** A Classic API error page (Jamf answers errors there with an HTML body, not JSON). */
export function classicError(res: ServerResponse, status: number, title: string, message: string): void {
  const text = `<html><head><title>Status page</title></head><body><h1>${title}</h1><p>${message}</p></body></html>`;
  res.writeHead(status, { 'content-type': 'text/html;charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

