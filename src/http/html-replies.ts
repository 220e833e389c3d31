import type { FastifyReply } from 'fastify';

const HTML = 'text/html; charset=utf-8';

/** A page made for one visitor (a form's answer, the desk): never kept by any cache. */
export async function sendHtml(reply: FastifyReply, html: string | Buffer, status = 200): Promise<void> {
  await reply.status(status).header('Cache-Control', 'no-store').type(HTML).send(html);
}

/** 303: after a form post, the browser fetches the next page with a GET. */
export async function seeOther(reply: FastifyReply, url: string): Promise<void> {
  await reply.header('Cache-Control', 'no-store').redirect(url, 303);
}
