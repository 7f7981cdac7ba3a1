package dev.keypool;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class KeypoolGatewayApplication {

	public static void main(String[] args) {
		SpringApplication.run(KeypoolGatewayApplication.class, args);
	}

}
