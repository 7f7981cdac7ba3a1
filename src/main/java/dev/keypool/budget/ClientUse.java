package dev.keypool.budget;

/**
 * A client's use of its budget at one moment; a count that is not tracked is {@code null}.
 *
 * @param requestsThisMinute requests in the last 60 seconds (tracked with a per-minute request limit)
 * @param tokensThisMinute tokens charged in the last 60 seconds
 * @param tokensToday tokens charged since 00:00 UTC
 */
public record ClientUse(Long requestsThisMinute, long tokensThisMinute, long tokensToday) {

}
