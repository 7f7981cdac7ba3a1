package dev.keypool.usage;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads the token usage of a provider response from its bytes as they pass, without holding
 * or parsing the body: one forward pass, byte by byte, with a few fields of state, so a name
 * or a number split across two chunks is read like any other.
 * <p>
 * What it reads (the Anthropic Messages API):
 * <ul>
 * <li>a JSON body: the top-level {@code usage} object;</li>
 * <li>an event stream: {@code message_start}'s {@code message.usage} and every
 * {@code message_delta}'s {@code usage};</li>
 * <li>Message Batches results (JSON Lines): each line's {@code result.message.usage}, summed.</li>
 * </ul>
 * Each of {@code input_tokens}, {@code output_tokens}, {@code cache_read_input_tokens},
 * {@code cache_creation_input_tokens} (or Bedrock Converse's {@code inputTokens},
 * {@code outputTokens}, {@code cacheReadInputTokens}, {@code cacheWriteInputTokens}; its
 * {@code totalTokens} is not read) takes the value of the last complete {@code usage}
 * object that has it: the delta's cumulative {@code output_tokens} replaces the start's, and a
 * stream cut midway keeps what arrived. {@code usage} anywhere else (inside content, tool
 * input, strings) is ignored, and so is a body that is not JSON. The top-level {@code model}
 * (or {@code message.model}) is kept too, at most {@value #MAX_CAPTURE} bytes of it.
 * <p>
 * Not thread-safe: one scanner per response.
 */
public final class UsageScanner {

	/** Longest name or model value kept; longer ones are cut (names) or truncated (model). */
	static final int MAX_CAPTURE = 64;

	private static final long MAX_VALUE = 1_000_000_000_000_000L;

	private static final int NONE = 0;

	private static final int OTHER = 1;

	private static final int USAGE = 2;

	private static final int MESSAGE = 3;

	private static final int MODEL = 4;

	private static final int RESULT = 5;

	/** Field codes 6..9 index {@link #pending} and {@link #totals} from 0. */
	private static final int INPUT = 6;

	private static final int OUTPUT = 7;

	private static final int CACHE_READ = 8;

	private static final int CACHE_CREATION = 9;

	private static final int FIRST_FIELD = INPUT;

	private static final byte[][] NAMES = { null, null, bytes("usage"), bytes("message"), bytes("model"),
			bytes("result"), bytes("input_tokens"), bytes("output_tokens"), bytes("cache_read_input_tokens"),
			bytes("cache_creation_input_tokens") };

	/** Bedrock Converse's names of the token counts, in the order of the codes from {@link #INPUT}. */
	private static final byte[][] CONVERSE_NAMES = { bytes("inputTokens"), bytes("outputTokens"),
			bytes("cacheReadInputTokens"), bytes("cacheWriteInputTokens") };

	private final boolean eventStream;

	/** JSON Lines of Message Batches results: every line's {@code result.message.usage} adds up. */
	private final boolean jsonLines;

	/** Depth of a results line's {@code result} object, else 0. */
	private int resultDepth;

	private final byte[] capture = new byte[MAX_CAPTURE];

	private int captured;

	private boolean overflow;

	private int depth;

	private boolean inString;

	private boolean escaped;

	/** The code of the string that just closed, until the next byte that is not space. */
	private int closedString = NONE;

	/** The member whose value comes next ({@code "name":} seen), else {@link #NONE}. */
	private int member = NONE;

	/** Depth of the {@code message} object of a stream event, else 0. */
	private int messageDepth;

	/** Depth of the {@code usage} object being read, else 0. */
	private int usageDepth;

	private boolean inNumber;

	private long number;

	private int numberField;

	private final long[] pending = new long[4];

	private final boolean[] pendingSeen = new boolean[4];

	private final long[] totals = new long[4];

	private boolean found;

	/** A {@code usage} member of the body or event itself was read (a stream's final usage, not {@code message_start}'s). */
	private boolean finalUsage;

	private String model;

	/** Bytes on the current line of an event stream, to find the blank line that ends an event. */
	private int lineLength;

	/** A JSON body's top-level value began (and may have ended). */
	private boolean jsonDone;

	private UsageScanner(boolean eventStream, boolean jsonLines) {
		this.eventStream = eventStream;
		this.jsonLines = jsonLines;
	}

	/** For a JSON response body. */
	public static UsageScanner forJson() {
		return new UsageScanner(false, false);
	}

	/**
	 * For the JSON Lines of Message Batches results ({@code /v1/messages/batches/<id>/results}):
	 * one result per line, the usage of each {@code result.message} (succeeded results) summed.
	 */
	public static UsageScanner forBatchResults() {
		return new UsageScanner(false, true);
	}

	/** For a {@code text/event-stream} response. */
	public static UsageScanner forEventStream() {
		return new UsageScanner(true, false);
	}

	/** Reads the remaining bytes of {@code chunk}, leaving its position untouched. */
	public void scan(ByteBuffer chunk) {
		int end = chunk.limit();
		int i = chunk.position();
		while (i < end) {
			if (this.inString && !this.escaped && this.captured == MAX_CAPTURE) {
				i = skipStringContent(chunk, i, end);
				if (i == end) {
					return;
				}
			}
			next(chunk.get(i++));
		}
	}

	/**
	 * Past the captured prefix, the rest of a long string (most of a response: the text) is
	 * skipped in a tight loop up to the next byte that matters.
	 */
	private int skipStringContent(ByteBuffer chunk, int from, int end) {
		int i = from;
		while (i < end) {
			byte b = chunk.get(i);
			if (b == '"' || b == '\\' || b == '\n') {
				break;
			}
			i++;
		}
		if (i > from) {
			this.overflow = true;
		}
		return i;
	}

	/** Reads {@code length} bytes of {@code bytes} from {@code offset}. */
	public void scan(byte[] bytes, int offset, int length) {
		for (int i = offset; i < offset + length; i++) {
			next(bytes[i]);
		}
	}

	/**
	 * Reads one byte; always {@code true}, so it fits Netty's {@code ByteProcessor} as
	 * {@code buf.forEachByte(scanner::next)}.
	 */
	public boolean next(byte value) {
		if ((this.eventStream && endsEvent(value)) || (this.jsonLines && value == '\n' && !this.inString)) {
			reset();
			return true;
		}
		if (this.inString) {
			string(value);
		}
		else if (this.depth == 0) {
			outside(value);
		}
		else {
			structure(value);
		}
		return true;
	}

	private boolean endsEvent(byte value) {
		if (value == '\n') {
			boolean blank = this.lineLength == 0;
			this.lineLength = 0;
			return blank;
		}
		if (value != '\r') {
			this.lineLength++;
		}
		return false;
	}

	/** Whether a complete {@code usage} object with at least one token count was read. */
	public boolean found() {
		return this.found;
	}

	/**
	 * Whether a {@code usage} at the top of the body or of an event was read: a JSON body's, or
	 * a stream's final one ({@code message_delta}, Bedrock's {@code metadata}), not only
	 * {@code message_start}'s, which counts one output token.
	 */
	public boolean finalUsage() {
		return this.finalUsage;
	}

	/** Whether this scanner reads an event stream. */
	public boolean isEventStream() {
		return this.eventStream;
	}

	/** The usage read so far ({@link TokenUsage#NONE} when none). */
	public TokenUsage usage() {
		return this.found ? new TokenUsage(this.totals[0], this.totals[1], this.totals[2], this.totals[3])
				: TokenUsage.NONE;
	}

	/** The response's model, or {@code null}. */
	public String model() {
		return this.model;
	}

	private void outside(byte value) {
		if (!this.eventStream && !this.jsonLines) {
			jsonOutside(value);
			return;
		}
		if (value == '{') {
			this.depth = 1;
			this.member = NONE;
			this.closedString = NONE;
		}
	}

	/** A JSON body is one object: anything else at the top, or after it, ends the scan. */
	private void jsonOutside(byte value) {
		if (this.jsonDone || value == ' ' || value == '\n' || value == '\r' || value == '\t') {
			return;
		}
		this.jsonDone = true;
		if (value == '{') {
			this.depth = 1;
		}
	}

	private void string(byte value) {
		if (this.escaped) {
			this.escaped = false;
			keep(value);
			return;
		}
		if (value == '\\') {
			this.escaped = true;
			this.overflow = true;
			return;
		}
		if (value == '"') {
			this.inString = false;
			closeString();
			return;
		}
		keep(value);
	}

	private void keep(byte value) {
		if (this.captured < MAX_CAPTURE) {
			this.capture[this.captured++] = value;
		}
		else {
			this.overflow = true;
		}
	}

	private void closeString() {
		if (this.member == MODEL && this.model == null && atTopOfMessage()) {
			this.model = new String(this.capture, 0, this.captured, StandardCharsets.UTF_8);
		}
		this.member = NONE;
		this.closedString = this.overflow ? OTHER : code();
	}

	private void structure(byte value) {
		if (value == ' ' || value == '\n' || value == '\r' || value == '\t') {
			endNumber();
			return;
		}
		if (this.inNumber) {
			if (value >= '0' && value <= '9') {
				digit(value);
				return;
			}
			endNumber();
		}
		int closed = this.closedString;
		this.closedString = NONE;
		switch (value) {
			case '"' -> {
				this.inString = true;
				this.captured = 0;
				this.overflow = false;
			}
			case ':' -> this.member = (closed != NONE) ? closed : OTHER;
			case '{' -> open(true);
			case '[' -> open(false);
			case '}', ']' -> close();
			case ',' -> this.member = NONE;
			default -> {
				if (value >= '0' && value <= '9' && this.member >= FIRST_FIELD && this.depth == this.usageDepth) {
					this.inNumber = true;
					this.number = 0;
					this.numberField = this.member - FIRST_FIELD;
					digit(value);
				}
				this.member = NONE;
			}
		}
	}

	private void open(boolean object) {
		int parent = this.depth;
		this.depth++;
		boolean usageHere = this.jsonLines ? (parent == 3 && this.messageDepth == 3)
				: (parent == 1 || (parent == 2 && this.messageDepth == 2));
		if (object && this.usageDepth == 0 && this.member == USAGE && usageHere) {
			this.usageDepth = this.depth;
			Arrays.fill(this.pendingSeen, false);
		}
		else if (object && this.eventStream && parent == 1 && this.member == MESSAGE) {
			this.messageDepth = this.depth;
		}
		else if (object && this.jsonLines && parent == 1 && this.member == RESULT) {
			this.resultDepth = this.depth;
		}
		else if (object && this.jsonLines && parent == 2 && this.resultDepth == 2 && this.member == MESSAGE) {
			this.messageDepth = this.depth;
		}
		this.member = NONE;
	}

	private void close() {
		if (this.depth == this.usageDepth) {
			for (int i = 0; i < this.pending.length; i++) {
				if (this.pendingSeen[i]) {
					this.totals[i] = this.jsonLines ? Math.min(MAX_VALUE, this.totals[i] + this.pending[i])
							: this.pending[i];
					this.found = true;
					this.finalUsage |= this.usageDepth == 2 || this.jsonLines;
				}
			}
			this.usageDepth = 0;
		}
		if (this.depth == this.messageDepth) {
			this.messageDepth = 0;
		}
		if (this.depth == this.resultDepth) {
			this.resultDepth = 0;
		}
		this.depth--;
		this.member = NONE;
	}

	private boolean atTopOfMessage() {
		if (this.jsonLines) {
			return this.depth == 3 && this.messageDepth == 3;
		}
		return this.depth == 1 || (this.depth == 2 && this.messageDepth == 2);
	}

	private void digit(byte value) {
		if (this.number < MAX_VALUE) {
			this.number = this.number * 10 + (value - '0');
		}
	}

	private void endNumber() {
		if (this.inNumber) {
			this.inNumber = false;
			this.pending[this.numberField] = this.number;
			this.pendingSeen[this.numberField] = true;
		}
	}

	/** An event stream's blank line ends the event: whatever was left open is dropped. */
	private void reset() {
		endNumber();
		this.depth = 0;
		this.inString = false;
		this.escaped = false;
		this.usageDepth = 0;
		this.messageDepth = 0;
		this.resultDepth = 0;
		this.member = NONE;
		this.closedString = NONE;
	}

	private int code() {
		for (int code = USAGE; code < NAMES.length; code++) {
			byte[] name = NAMES[code];
			if (name.length == this.captured && Arrays.equals(name, 0, name.length, this.capture, 0,
					this.captured)) {
				return code;
			}
		}
		for (int i = 0; i < CONVERSE_NAMES.length; i++) {
			byte[] name = CONVERSE_NAMES[i];
			if (name.length == this.captured && Arrays.equals(name, 0, name.length, this.capture, 0,
					this.captured)) {
				return FIRST_FIELD + i;
			}
		}
		return OTHER;
	}

	private static byte[] bytes(String name) {
		return name.getBytes(StandardCharsets.US_ASCII);
	}

}
