# syntax=docker/dockerfile:1
# Build:  docker build -t dvresponse .
# Run:    docker run -e DATABASE_URL=... -p 8080:8080 dvresponse

# --- build stage -----------------------------------------------------------
# Go 1.26.11: the patch release with the security fixes (see GOTOOLCHAIN in the Makefile).
FROM golang:1.26.11-bookworm AS build
# The image sets GOTOOLCHAIN=local; name the release so a different base image
# still builds with it (fetched through the module proxy).
ENV GOTOOLCHAIN=go1.26.11
WORKDIR /src
# Modules first, so this layer is cached until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static binary: the runtime image needs no Go or C libraries.
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/dvresponse ./cmd/dvresponse

# --- runtime stage ---------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates for TLS to the database, tzdata for DVR_TIME_ZONE (e.g. Asia/Bishkek).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 dvresponse \
 && useradd --system --uid 10001 --gid dvresponse --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin dvresponse
COPY --from=build /out/dvresponse /usr/local/bin/dvresponse
USER dvresponse:dvresponse
EXPOSE 8080
ENTRYPOINT ["dvresponse"]
# Listen on all interfaces inside the container.
CMD ["serve", "--addr", ":8080"]
