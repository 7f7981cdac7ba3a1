# syntax=docker/dockerfile:1
#
# keypool-gateway container image.
#
#   docker build -t keypool-gateway:0.1.0 .
#
# Stage 1 builds the executable jar with the Maven wrapper (tests are not run here: they run in
# CI, and some need a container runtime). Stage 2 runs it on a JRE with the jar extracted into
# Spring Boot's layers, least-often-changing first, so a release that only changes our own code
# rebuilds and pushes only the small last layer.
#
# Base images are build arguments so a registry mirror or a pinned digest can be used:
#   --build-arg BUILD_IMAGE=registry.example/eclipse-temurin:17-jdk@sha256:...

ARG BUILD_IMAGE=eclipse-temurin:17-jdk
ARG RUNTIME_IMAGE=eclipse-temurin:17-jre

FROM ${BUILD_IMAGE} AS build
WORKDIR /workspace

# Dependencies first: this layer is reused until pom.xml or the wrapper changes.
COPY mvnw pom.xml ./
COPY .mvn/ .mvn/
RUN ./mvnw -B -q dependency:go-offline

COPY src/main/ src/main/
RUN ./mvnw -B -q -Dmaven.test.skip=true package \
 && cp target/keypool-gateway-*.jar application.jar \
 && java -Djarmode=tools -jar application.jar extract --layers --destination extracted

FROM ${RUNTIME_IMAGE}
WORKDIR /application

# Same order as the layers in the jar's layers.idx: third-party jars change least, our classes most.
COPY --from=build /workspace/extracted/dependencies/ ./
COPY --from=build /workspace/extracted/spring-boot-loader/ ./
COPY --from=build /workspace/extracted/snapshot-dependencies/ ./
COPY --from=build /workspace/extracted/application/ ./

# The heap follows the container's memory limit instead of the JVM's default of 25 %; an
# OutOfMemoryError ends the process so Kubernetes restarts it rather than leaving it half alive.
# /tmp is the only place written at run time (Netty's native libraries); the Helm chart mounts an
# emptyDir there so the root filesystem can be read-only.
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75.0 -XX:+ExitOnOutOfMemoryError -Djava.io.tmpdir=/tmp"

# Public API port, then the actuator (health probes, Prometheus, key administration).
EXPOSE 8080 8081

# A numeric id so Kubernetes can enforce runAsNonRoot; the application files stay owned by root
# and are not writable by the process.
USER 10001:10001

ENTRYPOINT ["java", "-jar", "application.jar"]
