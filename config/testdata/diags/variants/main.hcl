recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
}

campaign "content_and_variants" {
  recipients = recipients.customers
  holdout    = 5

  message "offer" {
    template = "offer"
    variant "a" {
      weight   = 1
      template = "offer_a"
    }
    variant "b" {
      weight   = 1
      template = "offer_b"
    }
  }
}

campaign "bad_variants" {
  recipients = recipients.customers
  holdout    = -0.1

  message "offer" {
    variant "empty" {
      weight = 1
    }
    variant "two_kinds" {
      weight   = 1
      template = "offer"
      text     = "Hello"
    }
    variant "zero" {
      weight   = 0
      template = "offer"
    }
    variant "half" {
      weight   = 2.5
      template = "offer"
    }
    variant "zero" {
      weight   = 1
      template = "offer"
    }
    variant "no_weight" {
      template = "offer"
    }
    variant "text_first" {
      weight = 1
      text   = "A first contact without a template"
    }
  }

  message "early" {
    template  = "early"
    variables = { "1" = variant }
  }
}

campaign "one_variant" {
  recipients = recipients.customers
  holdout    = "some"

  message "offer" {
    variant "only" {
      weight   = 1
      template = "offer"
    }
  }
}

campaign "split_twice" {
  recipients = recipients.customers

  message "offer" {
    variant "a" {
      weight   = 1
      template = "offer_a"
    }
    variant "b" {
      weight   = 1
      template = "offer_b"
    }
  }

  message "ask" {
    after = message.offer
    variant "x" {
      weight = 1
      text   = "Want it?"
    }
    variant "y" {
      weight      = 1
      interactive = { type = "button" }
    }
  }

  message "code" {
    after = message.offer
    text  = variant.name
  }
}
