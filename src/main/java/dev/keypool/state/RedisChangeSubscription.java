package dev.keypool.state;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;
import org.springframework.data.redis.connection.ReactiveSubscription;
import org.springframework.data.redis.connection.SubscriptionListener;
import org.springframework.data.redis.listener.ChannelTopic;
import org.springframework.data.redis.listener.ReactiveRedisMessageListenerContainer;

/**
 * The change messages other replicas publish, received through one pub/sub subscription that
 * resubscribes by itself. A message that is not a change is logged and skipped; it never ends
 * the subscription.
 */
final class RedisChangeSubscription {

	private static final Logger logger = LoggerFactory.getLogger(RedisKeyStateStore.class);

	/**
	 * Built at class initialization, which also builds the deserializer: building it lazily
	 * on the first message would take Jackson's cache lock on a Redis event-loop thread.
	 */
	private static final ObjectReader changeReader = JsonMapper.builder().build().readerFor(Change.class);

	private final ReactiveRedisConnectionFactory connectionFactory;

	private final String channel;

	private final Duration retryInterval;

	private final Duration timeout;

	private volatile ReactiveRedisMessageListenerContainer container;

	RedisChangeSubscription(ReactiveRedisConnectionFactory connectionFactory, String channel, Duration retryInterval,
			Duration timeout) {
		this.connectionFactory = connectionFactory;
		this.channel = channel;
		this.retryInterval = retryInterval;
		this.timeout = timeout;
	}

	/**
	 * Subscribes.
	 *
	 * @param onSubscribed called on each (re)subscription: messages missed meanwhile need a load
	 * @param onChange called for each change message
	 */
	Disposable subscribe(Runnable onSubscribed, Consumer<Change> onChange) {
		SubscriptionListener subscribed = new SubscriptionListener() {
			@Override
			public void onChannelSubscribed(byte[] channel, long count) {
				onSubscribed.run();
			}
		};
		ChannelTopic topic = ChannelTopic.of(this.channel);
		return Flux.defer(() -> listenerContainer().receive(List.of(topic), subscribed))
			// creating the container and subscribing may open a connection: not on an event loop
			.subscribeOn(Schedulers.boundedElastic())
			.retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(100))
				.maxBackoff(this.retryInterval)
				.doBeforeRetry((signal) -> logger.debug("Resubscribing to {}", topic.getTopic(), signal.failure())))
			.subscribe((message) -> onMessage(message, onChange));
	}

	private synchronized ReactiveRedisMessageListenerContainer listenerContainer() {
		if (this.container == null) {
			this.container = new ReactiveRedisMessageListenerContainer(this.connectionFactory);
		}
		return this.container;
	}

	private static void onMessage(ReactiveSubscription.Message<String, String> message, Consumer<Change> onChange) {
		// never let one bad message end the subscription
		try {
			onChange.accept(changeReader.readValue(message.getMessage()));
		}
		catch (RuntimeException ex) {
			logger.warn("Ignoring a message on {} that is not a key state change: {}", message.getChannel(),
					ex.toString());
		}
	}

	/** Closes the subscription's connection; blocks for it only off event loops (shutdown). */
	void close() {
		ReactiveRedisMessageListenerContainer closing;
		synchronized (this) {
			closing = this.container;
			this.container = null;
		}
		if (closing == null) {
			return;
		}
		Mono<Void> closed = closing.destroyLater().timeout(this.timeout).onErrorResume((ex) -> Mono.empty());
		if (Schedulers.isInNonBlockingThread()) {
			closed.subscribe();
		}
		else {
			// on shutdown, let the subscription close before the connection factory goes
			closed.block();
		}
	}

	/**
	 * A change message as the write script publishes it; {@code scope} and {@code reason} are
	 * missing from messages of the previous version.
	 */
	record Change(String v, String e, String op, String pool, String key, String disabled, String until,
			String status, String at, String scope, String reason) {
	}

}
