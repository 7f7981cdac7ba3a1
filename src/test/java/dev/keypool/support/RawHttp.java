package dev.keypool.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, for requests an HTTP client library would normalise or
 * refuse to send: raw dot segments, odd methods, upgrade headers, repeated headers.
 */
public final class RawHttp {

	private RawHttp() {
	}

	/**
	 * Sends {@code head} (request line and headers, CRLF-separated, without the blank line)
	 * plus {@code body}, with {@code Connection: close}, and reads the whole response.
	 */
	public static Response exchange(int port, String head, byte[] body) {
		try (Socket socket = new Socket("127.0.0.1", port)) {
			socket.setSoTimeout(10_000);
			OutputStream out = socket.getOutputStream();
			boolean chunked = head.toLowerCase(Locale.ROOT).contains("transfer-encoding: chunked");
			String lengthHeader = (body.length > 0 && !chunked) ? "\r\nContent-Length: " + body.length : "";
			out.write((head + lengthHeader + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
			out.write(body);
			out.flush();
			return Response.parse(socket.getInputStream().readAllBytes());
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * Sends {@code head} (which declares the body's length or coding itself) with
	 * {@code Connection: close}, then {@code partial}, the start of the body, and then nothing
	 * more: a stalled client. Reads whatever response comes, until the server closes.
	 */
	public static Response stall(int port, String head, byte[] partial) {
		try (Socket socket = new Socket("127.0.0.1", port)) {
			socket.setSoTimeout(10_000);
			OutputStream out = socket.getOutputStream();
			out.write((head + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
			out.write(partial);
			out.flush();
			return Response.parse(socket.getInputStream().readAllBytes());
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * Sends {@code head} (which declares the body's length or coding itself), then
	 * {@code body} one byte every {@code gapMillis}: a client trickling its body, never idle for
	 * long. The time until the server ended the connection (answered and closed, or reset), or
	 * {@code -1} when the whole body went out and the connection was still open
	 * {@code maxMillis} after the start.
	 */
	public static long millisUntilServerClosesWhileTrickling(int port, String head, byte[] body, long gapMillis,
			int maxMillis) {
		try (Socket socket = new Socket("127.0.0.1", port)) {
			long start = System.nanoTime();
			try {
				OutputStream out = socket.getOutputStream();
				InputStream in = socket.getInputStream();
				out.write((head + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
				for (int i = 0; i < body.length && in.available() == 0; i++) {
					out.write(body[i]);
					out.flush();
					Thread.sleep(gapMillis);
				}
				long left = maxMillis - (System.nanoTime() - start) / 1_000_000;
				if (left <= 0) {
					return -1;
				}
				socket.setSoTimeout((int) left);
				while (in.read() >= 0) {
					// a response may come before the close: read until the close
				}
			}
			catch (SocketTimeoutException ex) {
				return -1;
			}
			catch (IOException ex) {
				// a reset, or a write the server no longer reads, is a close too
			}
			return (System.nanoTime() - start) / 1_000_000;
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * Opens a connection, writes {@code partial} (maybe nothing) and waits for the server to
	 * close it; the time that took, or {@code -1} when it was still open after {@code maxMillis}.
	 */
	public static long millisUntilServerCloses(int port, String partial, int maxMillis) {
		try (Socket socket = new Socket("127.0.0.1", port)) {
			socket.setSoTimeout(maxMillis);
			long start = System.nanoTime();
			socket.getOutputStream().write(partial.getBytes(StandardCharsets.ISO_8859_1));
			socket.getOutputStream().flush();
			InputStream in = socket.getInputStream();
			try {
				while (in.read() >= 0) {
					// a server may answer before closing (408, 400): read until the close
				}
			}
			catch (SocketTimeoutException ex) {
				return -1;
			}
			catch (IOException ex) {
				// a reset is a close too
			}
			return (System.nanoTime() - start) / 1_000_000;
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/** A parsed response; header names lower-cased, the last value of a repeated header kept. */
	public record Response(int status, Map<String, String> headers, String body) {

		static Response parse(byte[] raw) {
			String text = new String(raw, StandardCharsets.UTF_8);
			int headEnd = text.indexOf("\r\n\r\n");
			if (headEnd < 0) {
				throw new IllegalStateException("no complete response: " + text);
			}
			String[] lines = text.substring(0, headEnd).split("\r\n");
			int status = Integer.parseInt(lines[0].split(" ")[1]);
			Map<String, String> headers = new LinkedHashMap<>();
			for (int i = 1; i < lines.length; i++) {
				int colon = lines[i].indexOf(':');
				headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
			}
			return new Response(status, headers, text.substring(headEnd + 4));
		}

	}

	/** {@code body} in chunked transfer coding, {@code chunkSize} bytes a chunk. */
	public static byte[] chunked(byte[] body, int chunkSize) {
		ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 64);
		for (int i = 0; i < body.length; i += chunkSize) {
			int size = Math.min(chunkSize, body.length - i);
			out.writeBytes((Integer.toHexString(size) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
			out.write(body, i, size);
			out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
		}
		out.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
		return out.toByteArray();
	}

	/** {@code bytes} of filler JSON, for bodies of a given size. */
	public static byte[] jsonBody(int bytes) {
		ByteArrayOutputStream out = new ByteArrayOutputStream(bytes);
		String prefix = "{\"model\":\"claude-haiku-4-5\",\"pad\":\"";
		String suffix = "\"}";
		out.writeBytes(prefix.getBytes(StandardCharsets.UTF_8));
		for (int i = prefix.length() + suffix.length(); i < bytes; i++) {
			out.write('x');
		}
		out.writeBytes(suffix.getBytes(StandardCharsets.UTF_8));
		return out.toByteArray();
	}

}
