"""Shop connectors: signed webhooks from Shopify, WooCommerce and Shopware mapped to Nerve."""
