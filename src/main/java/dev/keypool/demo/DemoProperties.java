package dev.keypool.demo;

import java.time.Duration;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The simulated upstream of the {@code demo} profile: three keys, the first rate-limited
 * every n-th request, the second revoked, the third healthy.
 *
 * @param deltaDelay Pause before each streamed text delta, so streaming is visible in a terminal.
 * @param rateLimitEvery Every n-th Messages request with the primary demo key gets 429.
 * @param retryAfter Wait the primary demo key announces on its 429s, in retry-after and as the
 * reset of its used-up requests.
 * @param primarySecret Secret of the primary demo key, which is rate-limited every n-th
 * Messages request.
 * @param revokedSecret Secret of the demo key that always fails authentication.
 * @param backupSecret Secret of the demo key that always succeeds.
 */
@Validated
@ConfigurationProperties("keypool.demo")
public record DemoProperties(
		@DefaultValue("20ms") Duration deltaDelay,
		@DefaultValue("3") @Positive int rateLimitEvery,
		@DefaultValue("10s") Duration retryAfter,
		@DefaultValue("demo-key-primary-0001") @NotBlank String primarySecret,
		@DefaultValue("demo-key-revoked-0002") @NotBlank String revokedSecret,
		@DefaultValue("demo-key-backup-0003") @NotBlank String backupSecret) {
}
