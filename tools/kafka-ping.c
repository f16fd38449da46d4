/*
 * kafka-ping: exits 0 once the broker at BOOTSTRAP answers a metadata request, 1 if it does not within
 * TIMEOUT_MS. Used by scripts/broker to wait for a freshly started broker.
 *
 *   kafka-ping BOOTSTRAP [TIMEOUT_MS]
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: kafka-ping BOOTSTRAP [TIMEOUT_MS]\n");
        return 2;
    }
    int timeout_ms = argc > 2 ? atoi(argv[2]) : 5000;
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka-ping: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "kafka-ping: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        printf("%d broker(s), %d topic(s)\n", md->broker_cnt, md->topic_cnt);
        rd_kafka_metadata_destroy(md);
    } else {
        fprintf(stderr, "kafka-ping: %s: %s\n", argv[1], rd_kafka_err2str(err));
    }
    rd_kafka_destroy(rk);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : 1;
}
