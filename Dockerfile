# SlugBase in Rust: build with the Rust image, run on distroless as a non-root user.
#   docker build -t slugbase .
#   docker run -p 5000:5000 -v slugbase-data:/data --env-file .env slugbase

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The same build .ci/run proves: the locked dependency set, release profile.
RUN cargo build --release --locked && mkdir -p /data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/slugbase /usr/local/bin/slugbase
COPY --from=build --chown=65532:65532 /data /data
ENV HOST=0.0.0.0 \
    PORT=5000 \
    DB_PATH=/data/slugbase.db \
    NODE_ENV=production
VOLUME ["/data"]
WORKDIR /data
EXPOSE 5000
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/slugbase", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/slugbase"]
CMD ["serve"]
