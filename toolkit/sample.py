"""Realistic sample conversation logs with a planted, recorded truth.

:func:`generate_sample` builds a deterministic customer-service log (a
:class:`~toolkit.log.ConversationLog`) together with the truth that was planted in it: the intent
of every conversation, the kind of every bot answer (``good``, ``generic``, ``off_topic``,
``garbled``), the effect of the prompt variant on resolution, answer quality and satisfaction,
the windows of a latency incident and of a quality regression, the traffic trend and
seasonality, and the price table of the models. Tests and notebooks use the truth to check that
the analyses find what was planted.

What is in the data
    * 18 intents (login trouble, password reset, failed payment, refund request, opening hours,
      order status, shipping delay, ...), 7 phrasings each for the first user message, filled
      with slots (order numbers, products, dates, amounts, promo codes, ...) and light noise
      (greetings, typos, lower case, missing punctuation, "pls").
    * 1-6 turns per conversation: the problem, clarifications, and often a closing message
      ("thanks, that worked" or "this isn't helping") that follows the hidden outcome.
    * Bot answers of four kinds in realistic proportions (about 70/18/8/4 %): on-topic answers
      that reuse the intent's vocabulary, generic filler, answers that belong to another intent,
      and garbled text (shuffled, truncated, repeated fragments, leaked template fields).
    * Variants ``A`` (control) and ``B`` randomised 50/50 per conversation; ``B`` raises the
      per-turn probability of a good answer and the probability of resolution.
    * Hourly Poisson traffic with a daily profile (busy at midday, quiet at night), quieter
      weekends and a growth trend; repeat users; two bots; three models with token counts, costs
      from a price table, lognormal response times, timeouts and rate-limit errors.
    * A 6-hour latency incident (response times x3.5, more timeouts) and a 2-day quality
      regression (good-answer rate -30 points), on known, non-overlapping dates.

Everything is vectorised with numpy (strings are assembled from template segments and slot
values with ``numpy.strings``), so a million turns take seconds; the only randomness is
``numpy.random.default_rng(seed)``.

Examples
--------
>>> from toolkit.sample import generate_sample
>>> s = generate_sample(seed=1, days=7)
>>> len(s.log.conversations) == s.truth["n_conversations"]
True
>>> len(s.truth["intents"]) >= 15
True
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Sample",
    "generate_sample",
    "write_sample",
    "load_sample",
    "load_sample_truth",
    "default_sample_path",
    "INTENTS",
    "ANSWER_KINDS",
    "MODELS",
    "DEFAULT_SEED",
    "DEFAULT_DAYS",
    "DEFAULT_START",
]

DEFAULT_SEED = 0
DEFAULT_DAYS = 60
DEFAULT_START = "2026-09-01"
#: expected conversation starts per weekday at the start of the range (grows with the trend)
DEFAULT_CONVERSATIONS_PER_DAY = 190.0

ANSWER_KINDS = ("good", "generic", "off_topic", "garbled")
_GOOD, _GENERIC, _OFF, _GARBLED = 0, 1, 2, 3

#: model -> prices (USD per 1,000 tokens) and latency model (seconds)
MODELS: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"price_prompt_per_1k": 0.00015, "price_completion_per_1k": 0.0006,
                    "latency_base_s": 0.35, "latency_per_token_s": 0.012},
    "gpt-4o": {"price_prompt_per_1k": 0.0025, "price_completion_per_1k": 0.01,
               "latency_base_s": 0.6, "latency_per_token_s": 0.024},
    "claude-3-5-haiku": {"price_prompt_per_1k": 0.0008, "price_completion_per_1k": 0.004,
                         "latency_base_s": 0.45, "latency_per_token_s": 0.015},
}
#: bot -> (share of conversations, model mix)
_BOTS = {
    "web-assistant": (0.6, {"gpt-4o-mini": 0.7, "gpt-4o": 0.3, "claude-3-5-haiku": 0.0}),
    "app-assistant": (0.4, {"gpt-4o-mini": 0.2, "gpt-4o": 0.0, "claude-3-5-haiku": 0.8}),
}

# ------------------------------------------------------------------------------------------
# the texts
# ------------------------------------------------------------------------------------------
# Slots: {order} {product} {date} (a past date) {eta} (a future date) {amount} {code} {card}
# {city} {plan} {points} {day} {topic} (a noun phrase naming the conversation's problem).
#
# Each intent: weight (share of conversations), resolution offset (harder or easier problems),
# topic phrases, first user messages (the problem), follow-ups (clarifications) and good bot
# answers (on-topic, specific, reusing the vocabulary of the question).

INTENTS: dict[str, dict[str, Any]] = {
    "login_trouble": {
        "weight": 0.075, "resolution_offset": 0.0,
        "topic": ["the login problem", "signing in"],
        "first": [
            "I can't log in to my account, the login keeps failing.",
            "I keep getting 'invalid credentials' when I try to log in.",
            "Why can't I sign in? The login page just reloads.",
            "I'm locked out after too many login attempts.",
            "The two-factor code never arrives so I can't log in.",
            "Login isn't working on the app, it says my session expired.",
            "My username is right but the sign in fails every time, I can't log in.",
        ],
        "detail": [
            "I've tried to log in five times now.",
            "The login worked fine yesterday.",
            "It happens on the login screen of the app and the website.",
        ],
        "follow": [
            "I'm using the app on my phone.",
            "I tried clearing my browser cache already.",
            "It says 'account temporarily locked'.",
            "The verification code SMS never comes through.",
        ],
        "good": [
            "I'm sorry you can't log in. Your account was temporarily locked after several failed sign-in attempts; I've unlocked it, so please try logging in again now.",
            "Login failures like this are usually caused by an expired session. Please sign out of the app, clear the cache, and sign in again with your username and password.",
            "I can see the sign-in attempts on your account. Two-factor codes can take a few minutes; if it still doesn't arrive, choose 'send code by email' on the login screen.",
            "Your account is active and not locked. Please make sure you sign in with the email address on the account, and try the login page in a private browser window.",
            "I've reset the login lock on your account. You can sign in again now; after three more failed login attempts it locks for 30 minutes.",
        ],
    },
    "password_reset": {
        "weight": 0.07, "resolution_offset": 0.08,
        "topic": ["the password reset", "the new password"],
        "first": [
            "How do I reset my password?",
            "I forgot my password, can you help me reset it?",
            "The password reset email never arrived.",
            "My password reset link says it has expired.",
            "I need to change my password but I can't find the password option.",
            "Reset password isn't working, I never get the reset email.",
            "Can you send me a new password reset link?",
        ],
        "detail": [
            "I've requested a new password three times.",
            "The reset link in the email doesn't open.",
            "I need a new password today.",
        ],
        "follow": [
            "I checked my spam folder too, nothing there.",
            "I requested the reset link twice already.",
            "It's the same email address I signed up with.",
        ],
        "good": [
            "To reset your password, click 'Forgot password?' on the sign-in page and enter your email; the reset link arrives within a few minutes and is valid for 1 hour.",
            "I've just sent a new password reset link to the email address on your account. Please check your inbox and spam folder; the link expires after 60 minutes.",
            "Reset links expire after an hour, which is why the old one stopped working. I've sent you a fresh password reset email, please use it right away.",
            "You can change your password under Settings > Security > Change password. If you forgot the current password, use the reset link on the login page instead.",
            "Our password reset emails come from no-reply@example.com and sometimes land in spam. I've resent the reset email; once you set a new password, other sessions are signed out.",
        ],
    },
    "failed_payment": {
        "weight": 0.06, "resolution_offset": 0.0,
        "topic": ["the payment", "paying for my order"],
        "first": [
            "My payment keeps getting declined at checkout.",
            "Why was my card payment declined? I have enough money on it.",
            "Payment failed when I tried to pay for my purchase.",
            "I can't complete my purchase, the payment won't go through.",
            "Checkout says 'payment unsuccessful' every time I use my card ending in {card}.",
            "The payment page errors out when I enter my card details to pay.",
            "Tried paying with PayPal and the payment was declined, what's going on?",
        ],
        "detail": [
            "My card ending in {card} was declined twice.",
            "The payment worked last month.",
            "I tried to pay three times.",
        ],
        "follow": [
            "It's a Visa card ending in {card}.",
            "My bank says they didn't block anything.",
            "I tried a different card and it was declined too.",
        ],
        "good": [
            "I'm sorry your payment was declined. The card ending in {card} was rejected by the issuing bank's security check; please approve the payment in your banking app and try checkout again.",
            "Payments fail most often when the billing address doesn't match the card. Please check the billing address of your card ending in {card} and retry the payment.",
            "I can see a failed payment attempt for order {order}. No money was taken; you can retry with the same card or pay with PayPal or Apple Pay at checkout.",
            "Your card payment was declined because the 3-D Secure check timed out. Please try the payment again and confirm it in your bank's app within 5 minutes.",
            "The payment didn't go through, but order {order} is saved in your cart for 48 hours. You can complete checkout with another card or payment method.",
        ],
    },
    "refund_request": {
        "weight": 0.075, "resolution_offset": -0.03,
        "topic": ["the refund", "the refund request"],
        "first": [
            "I want a refund for the {product} I bought.",
            "How do I get a refund and my money back for order {order}?",
            "I returned the {product} two weeks ago and still haven't received my refund.",
            "Can I get a refund? The {product} isn't what I expected.",
            "Please refund my purchase, I changed my mind.",
            "When will my refund of {amount} be processed?",
            "I'd like to return the {product} and get a full refund.",
        ],
        "detail": [
            "The refund should be {amount}.",
            "I sent the return back on {date}.",
            "I want my money back, not store credit.",
        ],
        "follow": [
            "I sent it back on {date}.",
            "The refund should be {amount}.",
            "I paid by credit card.",
        ],
        "good": [
            "I've started a refund of {amount} for order {order}. It goes back to your original payment method and usually shows up within 5-7 business days.",
            "Returns are refundable within 30 days. I've created a prepaid return label for the {product}; once we receive it, your refund is issued within 3 business days.",
            "Your return of the {product} arrived at our warehouse and the refund of {amount} was approved today. Depending on your bank, the money appears in 3-5 days.",
            "Order {order} is eligible for a full refund. I've submitted the refund request and you'll get a confirmation email with the refund amount shortly.",
            "Refunds are processed once the returned item has been checked. Your {product} is being inspected now, and your refund should be issued by {eta}.",
        ],
    },
    "opening_hours": {
        "weight": 0.05, "resolution_offset": 0.15,
        "topic": ["the opening hours", "the store hours"],
        "first": [
            "What are your opening hours?",
            "Are you open on {day}? What are the hours?",
            "What time does the {city} store close today?",
            "When does your store open tomorrow morning?",
            "Is the store in {city} open on public holidays?",
            "What are the store opening hours for the weekend?",
            "How late is the store open tonight?",
        ],
        "detail": [
            "I want to visit the {city} store.",
            "I'd like to come in after work.",
            "Your website doesn't show the opening hours.",
        ],
        "follow": [
            "I mean the store in {city}.",
            "And what about {day}?",
            "Is customer service open at the same times?",
        ],
        "good": [
            "Our {city} store is open Monday to Friday 9am-8pm, Saturday 10am-6pm and Sunday 11am-5pm.",
            "On {day} the store opens at 10am and closes at 6pm. Customer service by chat is available 24/7.",
            "Opening hours: weekdays 9:00-20:00, Saturdays 10:00-18:00. On public holidays the {city} store is open 11:00-16:00.",
            "Yes, we're open on {day}! The {city} store hours are 10am to 6pm, and the phone line is open 8am-10pm every day.",
            "The {city} store closes at 8pm tonight and opens again at 9am tomorrow. Holiday opening hours are on our store locator page.",
        ],
    },
    "order_status": {
        "weight": 0.09, "resolution_offset": 0.05,
        "topic": ["the order", "the order tracking"],
        "first": [
            "Where is my order {order}?",
            "Can you tell me the status of my order?",
            "I placed order {order} on {date}, has my order shipped yet?",
            "How can I track my order?",
            "My order still says 'processing', when will the order ship?",
            "I haven't received a shipping confirmation for order {order}.",
            "Has my order for the {product} been shipped?",
        ],
        "detail": [
            "The order number is {order}.",
            "I ordered it on {date}.",
            "The order status hasn't changed for days.",
        ],
        "follow": [
            "The order number is {order}.",
            "I ordered it on {date}.",
            "The tracking link doesn't work.",
        ],
        "good": [
            "Your order {order} was shipped on {date} and is on its way. You can track it with the link in your shipping confirmation email.",
            "Order {order} is being packed at our warehouse and will ship within 24 hours; you'll get a tracking number by email as soon as it's dispatched.",
            "I've checked order {order}: it's out for delivery today with our courier. The tracking status updates every few hours.",
            "You can track any order under My Account > Orders. Your order for the {product} shows as 'shipped' and should arrive by {eta}.",
            "Your order status is 'processing' because one item is being restocked. Order {order} will ship by {eta} and I've emailed you the tracking details.",
        ],
    },
    "shipping_delay": {
        "weight": 0.07, "resolution_offset": -0.04,
        "topic": ["the late delivery", "the delayed package"],
        "first": [
            "My package is late, it was supposed to arrive on {date}.",
            "Why is my delivery so late? The package is delayed.",
            "The courier says my package is delayed again.",
            "It's been over a week and my package still hasn't arrived.",
            "Tracking hasn't updated in 5 days, is my delayed package lost?",
            "Expected delivery was {date} but the package never arrived.",
            "My parcel is stuck in transit, why is the delivery so late?",
        ],
        "detail": [
            "The delivery is already 4 days late.",
            "The tracking says the package is in transit.",
            "I needed this delivery before the weekend.",
        ],
        "follow": [
            "The tracking still shows 'in transit'.",
            "I need it before the weekend.",
            "Nobody came to my door.",
        ],
        "good": [
            "I'm sorry your delivery is late. The courier reports a delay at their regional hub; your package is now expected by {eta} and the tracking will update.",
            "Your parcel is delayed because of high shipping volumes. If it hasn't arrived by {eta}, we'll send a replacement or refund the shipping cost.",
            "I've opened a delivery investigation with the courier for order {order}. Shipments stuck in transit usually move again within 48 hours, and I'll email you an update.",
            "The delivery was delayed by a failed delivery attempt. The courier will try again tomorrow, or you can pick up the package at the nearest parcel point.",
            "Sorry for the delay! Your package was held at customs and has now been released; the new estimated delivery date is {eta}.",
        ],
    },
    "cancel_subscription": {
        "weight": 0.055, "resolution_offset": 0.05,
        "topic": ["the subscription", "the cancellation"],
        "first": [
            "How do I cancel my subscription?",
            "I want to cancel my {plan} membership subscription.",
            "Please cancel my subscription so it stops renewing.",
            "Can you cancel my plan before the next billing date?",
            "I'd like to cancel the {plan} plan subscription.",
            "I no longer need the subscription, cancel it please.",
            "Where can I cancel the auto-renewal of my subscription?",
        ],
        "detail": [
            "It's the {plan} plan, paid monthly.",
            "I don't want the subscription to renew again.",
            "I never use the membership anymore.",
        ],
        "follow": [
            "It's the {plan} plan, paid monthly.",
            "Will I still have access until the end of the month?",
            "I don't want to be charged again.",
        ],
        "good": [
            "I've cancelled your {plan} subscription. You keep access until the end of the current billing period and you won't be charged again.",
            "You can cancel your subscription any time under Account > Subscription > Cancel plan. Auto-renewal is switched off as soon as you confirm.",
            "Your subscription has been set not to renew. The {plan} plan stays active until {eta}, after which your account moves to the free tier.",
            "Before you cancel: you can pause your {plan} membership for up to 3 months instead. If you still want to cancel, I can do it right now for you.",
            "Done! Auto-renewal of your {plan} plan is turned off and the cancellation confirmation is in your inbox.",
        ],
    },
    "change_address": {
        "weight": 0.045, "resolution_offset": 0.04,
        "topic": ["the address change", "the new address"],
        "first": [
            "I need to change the delivery address for order {order}.",
            "How do I update my shipping address?",
            "I moved to {city}, can you change my address?",
            "Can I still change the address on my order?",
            "I entered the wrong address at checkout.",
            "Please update my billing and shipping address.",
            "Wrong postcode in my address, how do I fix the address?",
        ],
        "detail": [
            "My new address is in {city}.",
            "The apartment number in the address is wrong.",
            "I moved last week.",
        ],
        "follow": [
            "The new address is in {city}.",
            "The order hasn't shipped yet I think.",
            "It's the apartment number that's wrong.",
        ],
        "good": [
            "I've updated the delivery address on order {order}. Since it hasn't shipped yet, it will go to your new address in {city}.",
            "You can change your saved shipping address under My Account > Addresses. Orders already placed keep the old address unless you ask us to change them.",
            "Order {order} has already shipped, so I've asked the courier to redirect the parcel to your new address. Address changes in transit take 1-2 days.",
            "I've corrected the postcode and apartment number of your delivery address. The updated address is now on order {order} and in your account.",
            "Your billing address and shipping address are both updated to the new address in {city}. Future orders will use it by default.",
        ],
    },
    "billing_error": {
        "weight": 0.05, "resolution_offset": -0.05,
        "topic": ["the billing error", "the double charge"],
        "first": [
            "I was charged twice for the same purchase.",
            "There's a wrong amount on my invoice, I was billed {amount}.",
            "Why did you charge my card {amount} when the price was lower?",
            "I see a double charge on my bank statement.",
            "My bill is higher than it should be, I was overcharged this month.",
            "I was billed and charged for something I never ordered.",
            "There's an unexpected charge of {amount} on my bill.",
        ],
        "detail": [
            "The charge was on {date}.",
            "Both charges are {amount}.",
            "I can send you the bank statement with the charge.",
        ],
        "follow": [
            "The charge was on {date}.",
            "Both charges are {amount}.",
            "I can send you a screenshot of the bank statement.",
        ],
        "good": [
            "I'm sorry about the billing error. I can see the duplicate charge of {amount} for order {order}; I've reversed it and the money will be back on your card in 3-5 days.",
            "The second charge on your statement is a pre-authorisation hold, not a real charge. It will disappear from your bank account within 7 days.",
            "You were billed {amount} because the promotion ended before checkout. I've refunded the price difference and sent you a corrected invoice.",
            "Your invoice included a shipping fee that shouldn't have been charged. I've issued a credit of {amount} and emailed you an updated invoice.",
            "I've checked your billing history: the unexpected charge of {amount} is the annual renewal of your {plan} plan. If you didn't want it, I can refund the charge in full.",
        ],
    },
    "account_deletion": {
        "weight": 0.03, "resolution_offset": -0.06,
        "topic": ["the account deletion", "the data deletion"],
        "first": [
            "Please delete my account and all my data.",
            "How do I permanently delete my account?",
            "I want you to delete all my personal data (GDPR request).",
            "Close and delete my account, I don't want to use your service anymore.",
            "Can I delete my profile and erase my personal data?",
            "I want my account deleted permanently.",
            "How can I request deletion of my account and personal data?",
        ],
        "detail": [
            "Yes, I'm sure, delete everything.",
            "Please confirm by email when my data is deleted.",
            "I don't want you to keep any of my data.",
        ],
        "follow": [
            "Yes, I'm sure, delete everything.",
            "Will my order history be deleted too?",
            "The email on the account is the one I'm writing from.",
        ],
        "good": [
            "I've submitted your account deletion request. Your account and personal data will be permanently deleted within 30 days, and you'll receive a confirmation email.",
            "You can delete your account under Settings > Privacy > Delete account. Deletion is permanent: order history, saved addresses and personal data are erased.",
            "Under GDPR you have the right to erasure. I've opened a data deletion request; invoices must be kept for 7 years by law, everything else is deleted.",
            "Before we delete your account, please cancel any active subscription. Once that's done, your profile and personal information are removed within 30 days.",
            "Your request to close and delete your account is confirmed. You'll get a final email when all your personal data has been deleted.",
        ],
    },
    "product_availability": {
        "weight": 0.05, "resolution_offset": 0.06,
        "topic": ["the stock question", "the restock"],
        "first": [
            "Is the {product} in stock?",
            "When will the {product} be available again? It's out of stock.",
            "Do you have the {product} in stock in another colour?",
            "The {product} says out of stock, will you restock it?",
            "Is the {product} available in the {city} store?",
            "Is the {product} in stock and available for delivery this week?",
            "Are you getting more of the {product} in stock soon?",
        ],
        "detail": [
            "I need it by {eta}.",
            "Any colour is fine.",
            "Please tell me when it's back in stock.",
        ],
        "follow": [
            "I need it by {eta}.",
            "Any colour is fine.",
            "Can you notify me when it's back in stock?",
        ],
        "good": [
            "The {product} is currently out of stock online, but we expect new stock on {eta}. Click 'Notify me' on the product page to get an email when it's available.",
            "Good news: the {product} is in stock at our {city} store and available for delivery within 2 days.",
            "The {product} is sold out in that colour; it's available in black and white, both in stock and ready to ship.",
            "We're restocking the {product} next week. I've added you to the back-in-stock list, so you'll get an email as soon as it's available.",
            "Stock levels for the {product} change daily. Right now 3 units are available online, so I'd recommend ordering soon.",
        ],
    },
    "warranty_claim": {
        "weight": 0.04, "resolution_offset": -0.02,
        "topic": ["the warranty claim", "the warranty repair"],
        "first": [
            "My {product} stopped working, is it still under warranty?",
            "I want to make a warranty claim for my broken {product}.",
            "The {product} broke after three months, what does the warranty cover?",
            "How do I claim the warranty on my {product}?",
            "My {product} is faulty, will you repair or replace it under warranty?",
            "The battery of my {product} no longer charges, is that covered by the warranty?",
            "Is a repair of my broken {product} free under the 2-year warranty?",
        ],
        "detail": [
            "I bought it last year, I have the receipt.",
            "It just won't turn on anymore.",
            "It's not physical damage, it just stopped working.",
        ],
        "follow": [
            "I bought it last year, I have the receipt.",
            "It just won't turn on anymore.",
            "It's not physical damage, it just stopped working.",
        ],
        "good": [
            "Your {product} is covered by our 2-year warranty. I've opened a warranty claim and emailed you a free shipping label so we can repair or replace it.",
            "Warranty claims need the order number or receipt. Once you upload the receipt for your {product}, we'll arrange a repair or replacement within 10 days.",
            "A faulty battery is covered by the manufacturer's warranty. I've registered the claim for your {product}; a replacement unit will ship this week.",
            "Because the {product} is still under warranty, the repair is free of charge. Please bring it to the {city} store or send it with the prepaid label.",
            "Accidental damage isn't covered by the standard warranty, but the defect you describe is. I've approved your warranty claim and a replacement {product} is on its way.",
        ],
    },
    "technical_bug": {
        "weight": 0.05, "resolution_offset": -0.1,
        "topic": ["the app bug", "the error on the website"],
        "first": [
            "The app keeps crashing when I open it.",
            "Your website shows a blank page and an error after I click checkout.",
            "I get an error message 'something went wrong' on every page of the app.",
            "The app freezes and crashes whenever I try to upload a photo.",
            "There's a bug in the app: the search results don't load.",
            "The app won't open since the latest update, it crashes.",
            "The website page keeps loading forever, is there a bug?",
        ],
        "detail": [
            "I'm on an iPhone with the latest iOS.",
            "I already reinstalled the app.",
            "The error happens in Chrome and Safari.",
        ],
        "follow": [
            "I'm on an iPhone with the latest iOS.",
            "I already reinstalled the app.",
            "It happens in Chrome and Safari.",
        ],
        "good": [
            "Thanks for reporting this bug. The app crash on start-up is a known issue in version 5.2; an update that fixes it is in the app store now, please update the app.",
            "A blank page at checkout is usually caused by a browser extension. Please try disabling ad blockers or use a private window; I've also reported the error to our developers.",
            "Our engineers fixed the error that stopped the search results from loading. Please refresh the page; if you still see the error, clear the browser cache.",
            "I'm sorry the app freezes. Please update to the latest version and restart your phone; if it still crashes, send us the error message and your device model.",
            "We had a technical issue on the website this morning that is now resolved. Pages should load normally again; please reload and tell us if the bug comes back.",
        ],
    },
    "promo_code": {
        "weight": 0.05, "resolution_offset": 0.02,
        "topic": ["the promo code", "the discount"],
        "first": [
            "My promo code {code} isn't working.",
            "The discount code says it's invalid at checkout.",
            "I forgot to apply my coupon code {code}, can you add the discount?",
            "Why doesn't the voucher code give me the discount?",
            "Is the {code} promo code still valid?",
            "The coupon discount was not applied to my order.",
            "How do I use a discount code?",
        ],
        "detail": [
            "The code is {code}.",
            "It says 'code expired' but the email said the promo is valid.",
            "The discount should be 15%.",
        ],
        "follow": [
            "The code is {code}.",
            "It says 'code expired' but the email said it's valid.",
            "My cart total is over {amount}.",
        ],
        "good": [
            "The promo code {code} is valid for orders over $50 and can't be combined with sale items, which is why the discount wasn't applied to your cart.",
            "I've applied the discount from code {code} to order {order} and refunded the difference of {amount} to your payment method.",
            "Discount codes go in the 'Promo code' field on the checkout page, before you pay. The code {code} gives 15% off your first order.",
            "The coupon {code} expired on {date}. As a goodwill gesture I've sent you a new discount code with the same value.",
            "Promo codes are case-sensitive; please enter {code} in capitals at checkout and the discount will show in your order total.",
        ],
    },
    "loyalty_points": {
        "weight": 0.035, "resolution_offset": 0.03,
        "topic": ["the loyalty points", "the rewards balance"],
        "first": [
            "How many reward points do I have?",
            "My loyalty points weren't added for my last purchase.",
            "How do I redeem my loyalty points?",
            "I should have {points} points but my points balance shows zero.",
            "When do my reward points expire?",
            "Can I use my loyalty points to pay for part of my purchase?",
            "The reward points from my last purchase are missing.",
        ],
        "detail": [
            "My loyalty member number is on the card.",
            "It was a purchase of {amount}, so I should have earned points.",
            "I'm a gold member of the rewards program.",
        ],
        "follow": [
            "My member number is on the loyalty card.",
            "It was a purchase of {amount}.",
            "I'm a gold member.",
        ],
        "good": [
            "You currently have {points} reward points, worth about {amount}. You can redeem them at checkout by ticking 'Use my points'.",
            "Loyalty points for order {order} are credited 14 days after delivery, once the return period ends. They'll appear in your points balance on {eta}.",
            "I've added the missing {points} points to your loyalty account; your new points balance is visible in the app under Rewards.",
            "Reward points expire 12 months after they're earned. Your next {points} points expire on {eta}, so it's a good time to redeem them.",
            "You can pay for part of any order with loyalty points: 100 points equal $1. Just choose 'Redeem points' on the payment step.",
        ],
    },
    "gift_card": {
        "weight": 0.035, "resolution_offset": 0.04,
        "topic": ["the gift card", "the gift card balance"],
        "first": [
            "How do I check my gift card balance?",
            "My gift card isn't accepted at checkout.",
            "I lost my gift card, can you replace it?",
            "Can I use a gift card in the {city} store?",
            "The gift card I received has no balance on it.",
            "How do I buy an e-gift card for a friend?",
            "My gift card number shows as invalid.",
        ],
        "detail": [
            "The gift card was a present, worth {amount}.",
            "It's the 16-digit number on the back of the gift card.",
            "I got the gift card on {date}.",
        ],
        "follow": [
            "The card was a present, worth {amount}.",
            "It's the 16-digit number on the back of the card.",
            "I got it on {date}.",
        ],
        "good": [
            "You can check your gift card balance on our Gift Cards page with the 16-digit card number and PIN. Your card currently has {amount} left.",
            "Gift cards can be used online and in every store, including {city}. At checkout, choose 'Pay with gift card' and enter the card number and PIN.",
            "I've checked your gift card: it was activated on {date} with a balance of {amount}. It may have been rejected because the PIN was mistyped.",
            "E-gift cards can be bought on our website from $10 to $500 and are emailed to your friend instantly with a personal message.",
            "Lost gift cards can be replaced with the purchase receipt. I've blocked the old card and issued a new gift card with the remaining balance of {amount}.",
        ],
    },
    "contact_human": {
        "weight": 0.04, "resolution_offset": -0.04,
        "topic": ["the callback", "the support request"],
        "first": [
            "Can I talk to a real person please?",
            "I want to speak to a human agent.",
            "What is your customer service phone number? I want to talk to someone.",
            "Connect me to a live agent, I want to speak to a person.",
            "Is there an email address to contact your support team?",
            "I'd rather speak to a person on the phone.",
            "How can I reach a human in your support team directly?",
        ],
        "detail": [
            "It's about a complaint.",
            "I've been waiting for a call back from support since {date}.",
            "Chatting with a bot isn't helping, I need a human.",
        ],
        "follow": [
            "It's about a complaint.",
            "I've been waiting for a call back since {date}.",
            "Chatting with a bot isn't helping.",
        ],
        "good": [
            "Of course, I'm transferring you to a human agent now. The current waiting time for a live agent is about 4 minutes.",
            "You can reach our customer service team by phone at 1-800-555-0199, every day from 8am to 10pm, or by email at support@example.com.",
            "I've requested a call back from our support team. An agent will phone you within 2 hours on the number saved in your account.",
            "Our support agents are available by live chat and phone. I've created a ticket so the agent you speak to can see this conversation.",
            "I understand you'd like to speak to a person. I'm connecting you to the next available support agent; please stay in this chat.",
        ],
    },
}

_GENERIC_ANSWERS = [
    "I'm sorry to hear that. Could you tell me more?",
    "Thanks for reaching out! Let me look into this for you.",
    "I understand. Can you give me a few more details so I can help?",
    "I apologise for the inconvenience. Let me see what I can do.",
    "Thank you for your patience. Could you clarify what you mean?",
    "Got it. Is there anything else you can tell me about the issue?",
    "I'm here to help! Could you describe the problem in a bit more detail?",
    "Sorry about that. I'll do my best to help you with this.",
    "Thanks for your message. Our team is looking into it.",
]
_ERROR_ANSWERS = [
    "Sorry, something went wrong on our side. Please try again in a moment.",
    "I'm having trouble answering right now. Please try again shortly.",
]
_FOLLOW_NEUTRAL = [
    "I already tried that.",
    "ok",
    "Yes.",
    "Can you check again please?",
    "It still doesn't work.",
    "Anything else I should do?",
]
_FOLLOW_CONFUSED = [
    "That doesn't answer my question.",
    "What do you mean?",
    "No, that's not it.",
    "That's not what I asked.",
    "Huh? I don't understand.",
    "Did you even read my message?",
]
_CLOSE_RESOLVED_USER = [
    "Thanks, that worked!",
    "Great, thank you so much.",
    "Perfect, {topic} is sorted now. Thanks!",
    "ok thanks, that fixed it",
    "Awesome, thanks for the help with {topic}.",
    "That's all I needed, thank you.",
]
_CLOSE_UNRESOLVED_USER = [
    "This isn't helping at all.",
    "I still have the same problem with {topic}.",
    "Can I just speak to a real person?",
    "Forget it, I'll call instead.",
    "That doesn't solve anything.",
    "Still not sorted. Very disappointed with {topic}.",
]
_CLOSE_RESOLVED_BOT = [
    "You're welcome! Glad I could help with {topic}. Have a great day!",
    "Happy to help! If anything else comes up with {topic}, just message us.",
    "Great to hear that {topic} is sorted. Is there anything else I can do for you?",
]
_CLOSE_UNRESOLVED_BOT = [
    "I'm sorry {topic} is still not sorted. I've escalated your case to a specialist who will email you within 24 hours.",
    "I understand your frustration with {topic}. I'm transferring you to a human agent who can look into this further.",
    "Apologies that this hasn't solved {topic}. I've created a priority ticket and our team will contact you today.",
]
_LEAKED_TEMPLATES = [
    "Hello {{customer_name}}, your request about {{intent}} has been {{status}}.",
    "[ERROR: response_template not found] Please contact support.",
    "As an AI language model, I cannot access your account.",
    "Sure! Here is the answer: <answer> </answer>",
    "null",
]

_PRODUCTS = [
    "wireless headphones", "coffee maker", "running shoes", "smart watch", "robot vacuum",
    "laptop stand", "air fryer", "bluetooth speaker", "winter jacket", "desk lamp",
    "electric toothbrush", "gaming mouse", "yoga mat", "blender", "phone case", "backpack",
    "hair dryer", "office chair", "e-reader", "kettle", "tablet", "camera", "water bottle",
    "mechanical keyboard", "baby monitor", "rain boots", "sunglasses", "microwave",
    "TV wall mount", "espresso machine",
]
_CITIES = ["Boston", "Chicago", "Denver", "Seattle", "Austin", "Portland", "Atlanta", "Phoenix",
           "Miami", "San Diego"]
_DAYS = ["Sunday", "Saturday", "Monday", "Friday", "Thanksgiving", "Christmas Eve"]
_PLANS = ["Premium", "Family", "Plus", "Pro", "Basic"]
_CODE_WORDS = ["SAVE", "WELCOME", "FALL", "VIP", "SPRING", "HELLO", "STUDENT", "THANKS", "FREESHIP"]
_CODE_NUMBERS = ["5", "10", "15", "20", "25", "30"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

_GREETINGS = ["Hi, ", "Hello, ", "Hey, ", "hi ", "Hi there! ", "Good morning. ", "Hello! "]
_SUFFIXES = [" pls", " please", " thanks", " thx", " asap", " :("]
_TYPOS = [
    ("password", "pasword"), ("account", "acount"), ("received", "recieved"), ("the ", "teh "),
    ("you", "u"), ("please", "plz"), ("order", "ordr"), ("subscription", "subcription"),
    ("address", "adress"), ("available", "availible"), ("warranty", "waranty"),
    ("payment", "paymnet"), ("refund", "refnud"), ("delivery", "delivey"), ("card", "crad"),
    ("working", "workin"), ("because", "becuase"), ("when", "wen"), ("my ", "mu "),
]
_APOSTROPHES = [("n't", "nt"), ("I'm", "im"), ("'s ", "s "), ("I've", "ive"), ("I'd", "id")]

_SLOTS = ("order", "product", "date", "eta", "amount", "code", "card", "city", "plan", "points",
          "day", "topic")
_SLOT_RE = re.compile(r"\{(" + "|".join(_SLOTS) + r")\}")

#: share of each answer kind among non-good answers (generic, off_topic, garbled) ~ 18/8/4
_BAD_SPLIT = np.array([0.6, 0.8 / 3, 0.4 / 3])
_BAD_CUM = np.concatenate([[0.0], np.cumsum(_BAD_SPLIT)[:-1]])
_TURN_COUNT_P = np.array([0.16, 0.24, 0.25, 0.18, 0.11, 0.06])  # 1..6 turns
_DAILY = np.array([0.25, 0.18, 0.14, 0.12, 0.13, 0.2, 0.35, 0.6, 0.9, 1.2, 1.45, 1.6, 1.65, 1.6,
                   1.5, 1.4, 1.35, 1.3, 1.25, 1.15, 1.0, 0.8, 0.55, 0.38])
_DAILY = _DAILY / _DAILY.mean()
_WEEKLY = np.array([1.05, 1.05, 1.05, 1.03, 1.0, 0.7, 0.62])  # Monday .. Sunday


@dataclass(frozen=True)
class Sample:
    """A generated sample: the validated conversation log and the truth planted in it.

    Attributes
    ----------
    log : ConversationLog
        ``log.turns`` and ``log.conversations``, validated by :func:`toolkit.log.validate`.
    truth : dict
        What was planted (see the module docstring and ``truth.json``): ``intents``,
        ``conversations`` (intent and answer kinds per conversation), ``variants`` (planted
        effects), ``incidents`` (windows), ``trend``, ``seasonality``, ``models`` (prices).
    """

    log: Any
    truth: dict

    def __repr__(self) -> str:
        t = self.truth
        return (f"Sample(seed={t['seed']}, {t['n_conversations']} conversations, "
                f"{t['n_turns']} turns, {t['start']} .. {t['end']})")


# ------------------------------------------------------------------------------------------
# templates
# ------------------------------------------------------------------------------------------


class _Templates:
    """All texts as segments between slots, so they can be assembled with vectorised concat."""

    def __init__(self) -> None:
        self.texts: list[list[str]] = []   # segments
        self.types: list[list[int]] = []   # slot type per gap
        self.groups: dict[tuple[str, int], tuple[int, int]] = {}

    def add(self, name: str, intent: int, texts: list[str], literal: bool = False) -> None:
        start = len(self.texts)
        for text in texts:
            if literal:
                segs, types = [text], []
            else:
                parts = _SLOT_RE.split(text)
                segs, types = parts[0::2], [_SLOTS.index(p) for p in parts[1::2]]
            self.texts.append(segs)
            self.types.append(types)
        self.groups[(name, intent)] = (start, len(texts))

    def freeze(self) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        n_slots = max(len(t) for t in self.types)
        self.n_slots = n_slots
        segs = [[""] * len(self.texts) for _ in range(n_slots + 1)]
        types = np.full((len(self.texts), max(n_slots, 1)), -1, dtype=np.int64)
        for i, (s, t) in enumerate(zip(self.texts, self.types)):
            for j, seg in enumerate(s):
                segs[j][i] = seg
            types[i, : len(t)] = t
        self.segs = [pa.array(x, type=pa.string()) for x in segs]
        self.type_arr = types
        self.base_len = sum(pc.utf8_length(x).to_numpy().astype(np.int64) for x in self.segs)

    def table(self, name: str, n_intents: int) -> tuple[np.ndarray, np.ndarray]:
        """(offset, count) arrays indexed by intent (a shared group repeats for every intent)."""
        off = np.empty(n_intents, dtype=np.int64)
        cnt = np.empty(n_intents, dtype=np.int64)
        for i in range(n_intents):
            o, c = self.groups.get((name, i), self.groups.get((name, -1), (0, 0)))
            off[i], cnt[i] = o, c
        return off, cnt

    def pick(self, name: str, intent: np.ndarray, u: np.ndarray, n_intents: int) -> np.ndarray:
        off, cnt = self.table(name, n_intents)
        return off[intent] + np.minimum((u * cnt[intent]).astype(np.int64), cnt[intent] - 1)

    def lengths(self, tid: np.ndarray, conv: np.ndarray, slot_len: np.ndarray) -> np.ndarray:
        """Exact length (characters) of the rendered texts, without rendering them."""
        out = self.base_len[tid].copy()
        for j in range(self.n_slots):
            ty = self.type_arr[tid, j]
            has = ty >= 0
            out[has] += slot_len[ty[has], conv[has]]
        return out

    def render(self, tid: np.ndarray, conv: np.ndarray, slots: "Any", n_conv: int) -> "Any":
        """Texts of templates ``tid`` filled with the slot values of conversations ``conv``.

        ``slots`` is one pyarrow string array: slot type k of conversation c at k * n_conv + c,
        and an empty string at the end.
        """
        import pyarrow.compute as pc

        parts = [self.segs[0].take(tid)]
        empty = len(slots) - 1
        for j in range(self.n_slots):
            ty = self.type_arr[tid, j]
            parts.append(slots.take(np.where(ty >= 0, ty * n_conv + conv, empty)))
            parts.append(self.segs[j + 1].take(tid))
        return pc.binary_join_element_wise(*parts, "")


def _garbled_pool(rng: np.random.Generator, intent: dict, size: int = 16) -> list[str]:
    """Incoherent answers: shuffled, truncated, stuttering or spliced fragments of good answers."""
    fills = {"order": "#4417203", "product": intent.get("_product", "item"), "date": "Sep 3",
             "eta": "Sep 9", "amount": "$39.90", "code": "SAVE10", "card": "4821",
             "city": "Denver", "plan": "Premium", "points": "1200", "day": "Sunday",
             "topic": "the issue"}
    goods = [_SLOT_RE.sub(lambda m: fills[m.group(1)], g) for g in intent["good"]]
    out = []
    for i in range(size):
        words = goods[int(rng.integers(len(goods)))].split()
        style = i % 4
        if style == 0:  # shuffled and truncated
            perm = rng.permutation(len(words))[: max(4, int(len(words) * rng.uniform(0.4, 0.7)))]
            text = " ".join(words[p] for p in perm).lower()
        elif style == 1:  # cut off mid-sentence, mid-word
            text = " ".join(words)
            cut = int(len(text) * rng.uniform(0.15, 0.45))
            text = text[:cut].rstrip()
        elif style == 2:  # stuttering repetition
            k = int(rng.integers(2, 5))
            head = words[:k]
            text = " ".join(w for w in head for _ in range(int(rng.integers(2, 4)))) + " " + " ".join(words[k:k + 3])
        else:  # two fragments spliced, the middle lost
            a, b = int(len(words) * 0.3), int(len(words) * 0.7)
            text = " ".join(words[:a] + ["..."] + words[b:][::-1])
        out.append(text)
    return out + _LEAKED_TEMPLATES[:2]


def _build_templates(rng: np.random.Generator) -> tuple[_Templates, list[str]]:
    names = list(INTENTS)
    tpl = _Templates()
    for i, name in enumerate(names):
        spec = INTENTS[name]
        tpl.add("first", i, spec["first"])
        tpl.add("follow", i, spec["follow"] + spec["detail"])
        tpl.add("detail", i, spec["detail"])
        tpl.add("good", i, spec["good"])
        tpl.add("garbled", i, _garbled_pool(rng, spec), literal=True)
    tpl.add("follow_neutral", -1, _FOLLOW_NEUTRAL)
    tpl.add("follow_confused", -1, _FOLLOW_CONFUSED)
    tpl.add("close_res_user", -1, _CLOSE_RESOLVED_USER)
    tpl.add("close_unres_user", -1, _CLOSE_UNRESOLVED_USER)
    tpl.add("close_res_bot", -1, _CLOSE_RESOLVED_BOT)
    tpl.add("close_unres_bot", -1, _CLOSE_UNRESOLVED_BOT)
    tpl.add("generic", -1, _GENERIC_ANSWERS)
    tpl.add("error", -1, _ERROR_ANSWERS)
    tpl.add("leaked", -1, _LEAKED_TEMPLATES[2:], literal=True)
    tpl.freeze()
    return tpl, names


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def _utc(ts) -> "Any":
    import pandas as pd

    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _iso(ns: int) -> str:
    import pandas as pd

    return pd.Timestamp(int(ns), tz="UTC").isoformat().replace("+00:00", "Z")


def _incident_hours(days: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(start, end) in hours from the range start: latency incident, quality regression."""
    total = days * 24.0
    if days >= 10:
        lat_day = int(days * 0.35)
        lat = (lat_day * 24 + 13.0, lat_day * 24 + 19.0)  # 13:00-19:00 UTC, a busy afternoon
        reg_day = max(lat_day + 1, int(round(days * 0.62)))
        reg = (reg_day * 24.0, reg_day * 24.0 + 48.0)
    else:  # short ranges: whole hours at 30 % and 60 % of the range
        lat_start, reg_start = float(np.floor(total * 0.3)), float(np.floor(total * 0.6))
        lat = (lat_start, lat_start + max(1.0, min(6.0, float(np.floor(total * 0.1)))))
        reg = (reg_start, reg_start + max(1.0, min(48.0, float(np.floor(total * 0.2)))))
    return lat, reg


def _num(x: np.ndarray, width: int = 0) -> "Any":
    """Integers as a pyarrow string array, zero-padded to ``width``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    s = pc.cast(pa.array(np.asarray(x).astype(np.int64)), pa.string())
    return pc.utf8_lpad(s, width, "0") if width else s


def _take(values: list[str], idx: np.ndarray) -> "Any":
    import pyarrow as pa

    return pa.array(values, type=pa.string()).take(np.asarray(idx, dtype=np.int64))


def _join(*parts) -> "Any":
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*parts, "")


def _str(values) -> "Any":
    """A pandas ``string`` array straight from a pyarrow array (no per-element Python work)."""
    import pandas as pd

    return pd.arrays.ArrowStringArray(values)


def _round(x: float, nd: int = 6) -> float:
    return float(round(float(x), nd))


# ------------------------------------------------------------------------------------------
# the generator
# ------------------------------------------------------------------------------------------


def generate_sample(
    seed: int = DEFAULT_SEED,
    days: int = DEFAULT_DAYS,
    conversations: int | None = None,
    start: str = DEFAULT_START,
    *,
    conversations_per_day: float = DEFAULT_CONVERSATIONS_PER_DAY,
    resolution: tuple[float, float] = (0.60, 0.66),
    good_rate: tuple[float, float] = (0.68, 0.73),
    growth_per_day: float = 0.005,
    latency_factor: float = 3.5,
    good_rate_drop: float = 0.30,
    user_resolution_sd: float = 0.15,
) -> Sample:
    """Generate a realistic customer-service conversation log and the truth planted in it.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; the same arguments give identical data.
    days : int
        Length of the range in days (UTC midnight to midnight), at least 1.
    conversations : int, optional
        Exact number of conversations. By default it is drawn from the Poisson traffic model
        (about ``conversations_per_day`` per weekday, growing with the trend): ~12,600
        conversations and ~38,000 turns for 60 days.
    start : str or Timestamp
        First day of the range (UTC if naive).
    conversations_per_day : float
        Expected conversation starts on a weekday at the start of the range.
    resolution : (float, float)
        Planted probability that a conversation is resolved, variant A and B (before the effect
        of the conversation's answer quality, which is centred on the variant's planted rate).
    good_rate : (float, float)
        Planted per-turn probability of a good answer, variant A and B (outside the regression).
    growth_per_day : float
        Multiplicative traffic trend per day (0.005 = +0.5 % a day).
    latency_factor : float
        Response-time multiplier during the latency incident.
    good_rate_drop : float
        Absolute drop of the good-answer probability during the quality regression.
    user_resolution_sd : float
        SD of a per-user offset of the resolution probability (some customers' problems are
        harder), centred over conversations: a user's conversations resolve alike, which a
        pre-period covariate (CUPED) picks up. Drawn from its own random stream, so it changes
        nothing else.

    Returns
    -------
    Sample
        ``.log`` (a validated :class:`~toolkit.log.ConversationLog`) and ``.truth`` (dict).

    Examples
    --------
    >>> s = generate_sample(seed=3, days=7)
    >>> bool(s.log.turns["variant"].isin(["A", "B"]).all())
    True
    >>> sorted(k["kind"] for k in s.truth["incidents"])
    ['latency', 'quality_regression']
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from toolkit.log import validate

    days = int(days)
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if conversations is not None and int(conversations) < 1:
        raise ValueError(f"conversations must be >= 1 (or None), got {conversations}")
    for name, pair in (("resolution", resolution), ("good_rate", good_rate)):
        if len(pair) != 2 or not all(0.0 <= float(p) <= 1.0 for p in pair):
            raise ValueError(f"{name} must be two probabilities (A, B) in [0, 1], got {pair!r}")
    if not 0.0 <= float(user_resolution_sd) <= 0.5:
        raise ValueError(f"user_resolution_sd must be in [0, 0.5], got {user_resolution_sd!r}")

    rng = np.random.default_rng(seed)
    t0 = _utc(start).normalize()
    t0_ns = int(t0.value)
    hour_ns = 3_600_000_000_000
    sec_ns = 1_000_000_000

    tpl, names = _build_templates(rng)
    n_int = len(names)

    # ---- traffic: hourly Poisson process with daily + weekly seasonality and a trend ---------
    n_hours = days * 24
    h = np.arange(n_hours)
    dow = (int(t0.day_of_week) + h // 24) % 7
    rate = (conversations_per_day / 24.0) * _DAILY[h % 24] * _WEEKLY[dow] * (1.0 + growth_per_day) ** (h / 24.0)
    expected = float(rate.sum())
    n_conv = int(conversations) if conversations is not None else max(1, int(rng.poisson(expected)))
    per_hour = rng.multinomial(n_conv, rate / expected)
    hour_of_conv = np.repeat(h, per_hour)
    conv_start = t0_ns + hour_of_conv * hour_ns + (rng.random(n_conv) * 3600 * 1000).astype(np.int64) * 1_000_000
    conv_start.sort()

    # ---- conversation attributes --------------------------------------------------------------
    w = np.array([INTENTS[n]["weight"] for n in names])
    w = w / w.sum()
    intent = rng.choice(n_int, size=n_conv, p=w)
    variant_b = rng.random(n_conv) < 0.5
    n_turns = rng.choice(np.arange(1, 7), size=n_conv, p=_TURN_COUNT_P)
    has_closing = (n_turns >= 2) & (rng.random(n_conv) < 0.75)

    n_users = max(1, int(n_conv * 0.55))
    user_w = rng.pareto(1.2, n_users) + 1.0
    user = rng.choice(n_users, size=n_conv, p=user_w / user_w.sum())
    bot_names = list(_BOTS)
    user_pref = (rng.random(n_users) >= _BOTS[bot_names[0]][0]).astype(np.int64)
    bot = np.where(rng.random(n_conv) < 0.9, user_pref[user], 1 - user_pref[user])
    model_names = list(MODELS)
    model = np.empty(n_conv, dtype=np.int64)
    u_model = rng.random(n_conv)
    for b, bname in enumerate(bot_names):
        mix = np.cumsum([_BOTS[bname][1][m] for m in model_names])
        sel = bot == b
        model[sel] = np.searchsorted(mix, u_model[sel] * mix[-1], side="right")
    model = np.minimum(model, len(model_names) - 1)

    # slot values, one per conversation and slot type
    start_days = (conv_start - t0_ns) // (24 * hour_ns)
    past = t0 + pd.to_timedelta(start_days - rng.integers(2, 12, n_conv), unit="D")
    future = t0 + pd.to_timedelta(start_days + rng.integers(2, 9, n_conv), unit="D")

    def fmt_date(d) -> "Any":
        return _join(_take(_MONTHS, d.month.to_numpy() - 1), " ", _num(d.day.to_numpy()))

    order = _join(_take(["#", "ORD-", ""], rng.integers(0, 3, n_conv)),
                  _num(rng.integers(1_000_000, 10_000_000, n_conv)))
    dollars = np.round(np.exp(rng.normal(3.6, 0.8, n_conv))).clip(3, 2000)
    amount = _join("$", _num(dollars), ".", _take(["00", "49", "90", "95", "99"], rng.integers(0, 5, n_conv)))
    topics = [t for n in names for t in INTENTS[n]["topic"][:2]]
    product = _take(_PRODUCTS, rng.integers(0, len(_PRODUCTS), n_conv))
    topic = _take(topics, intent * 2 + rng.integers(0, 2, n_conv))
    slot_vals = [
        order,
        product,
        fmt_date(past),
        fmt_date(future),
        amount,
        _join(_take(_CODE_WORDS, rng.integers(0, len(_CODE_WORDS), n_conv)),
              _take(_CODE_NUMBERS, rng.integers(0, len(_CODE_NUMBERS), n_conv))),
        _num(rng.integers(0, 10_000, n_conv), 4),
        _take(_CITIES, rng.integers(0, len(_CITIES), n_conv)),
        _take(_PLANS, rng.integers(0, len(_PLANS), n_conv)),
        _num(rng.integers(5, 500, n_conv) * 10),
        _take(_DAYS, rng.integers(0, len(_DAYS), n_conv)),
        topic,
    ]
    slot_len = np.stack([pc.utf8_length(v).to_numpy().astype(np.int64) for v in slot_vals])
    slots = pa.concat_arrays([*slot_vals, pa.array([""], type=pa.string())])

    # ---- turns: layout ------------------------------------------------------------------------
    n_rows = int(n_turns.sum())
    row_start = np.zeros(n_conv, dtype=np.int64)
    np.cumsum(n_turns[:-1], out=row_start[1:])
    conv_of = np.repeat(np.arange(n_conv), n_turns)
    turn = np.arange(n_rows) - row_start[conv_of]
    last = turn == n_turns[conv_of] - 1
    closing = last & has_closing[conv_of]

    lat_h, reg_h = _incident_hours(days)
    lat_ns = (t0_ns + int(lat_h[0] * hour_ns), t0_ns + int(lat_h[1] * hour_ns))
    reg_ns = (t0_ns + int(reg_h[0] * hour_ns), t0_ns + int(reg_h[1] * hour_ns))

    p_good_v = np.where(variant_b, good_rate[1], good_rate[0])
    p_res_v = np.where(variant_b, resolution[1], resolution[0])
    # per-user resolution offset, centred over conversations, from a stream of its own
    user_z = np.random.default_rng([seed, 15]).normal(0.0, user_resolution_sd, n_users)
    user_res = user_z[user] - float(user_z[user].mean())
    off = np.array([INTENTS[n]["resolution_offset"] for n in names])
    off = off - float(off @ w)  # centred: the planted variant rates are the marginal rates
    p_err_base, p_err_incident = 0.012, 0.08

    # per-row random numbers, drawn up front in row order (deterministic, vectorised)
    u_kind = rng.random(n_rows)
    u_tpl_user = rng.random(n_rows)
    u_tpl_bot = rng.random(n_rows)
    u_follow_generic = rng.random(n_rows)
    u_other = rng.integers(1, n_int, n_rows)
    u_err = rng.random(n_rows)
    u_err_kind = rng.random(n_rows)
    u_leak = rng.random(n_rows)
    gap_s = np.clip(np.exp(rng.normal(np.log(20.0), 0.7, n_rows)), 2.0, 600.0)
    rt_noise = np.exp(rng.normal(0.0, 0.3, n_rows))
    tok_noise = np.exp(rng.normal(0.0, 0.05, (2, n_rows)))
    u_res = rng.random(n_conv)
    u_detail = rng.random((2, n_conv))

    kind = np.zeros(n_rows, dtype=np.int8)
    err = np.zeros(n_rows, dtype=np.int8)  # 0 ok, 1 timeout, 2 rate limit
    user_tid = np.zeros(n_rows, dtype=np.int64)
    bot_tid = np.zeros(n_rows, dtype=np.int64)
    # whose slot values a bot answer uses: its own conversation's, except off-topic answers,
    # which were meant for another customer (another conversation's order, product, ...)
    bot_src = conv_of.copy()
    bot_len = np.zeros(n_rows, dtype=np.int64)
    rt = np.zeros(n_rows)
    ts = np.zeros(n_rows, dtype=np.int64)
    in_lat = np.zeros(n_rows, dtype=bool)
    in_reg = np.zeros(n_rows, dtype=bool)
    resolved_true = np.zeros(n_conv, dtype=bool)
    good_count = np.zeros(n_conv)
    answered = np.zeros(n_conv)
    base = np.array([MODELS[m]["latency_base_s"] for m in model_names])
    per_tok = np.array([MODELS[m]["latency_per_token_s"] for m in model_names])

    # errors (timeouts, rate limits) happen under load: their rate follows the daily traffic
    # profile, scaled so that the traffic-weighted mean rate is p_err_base
    err_by_hour = p_err_base * _DAILY / float((_DAILY**2).sum() / _DAILY.sum())
    g_expected = p_good_v * (1.0 - p_err_base)  # expected good share outside the regression

    def decide_resolution(convs: np.ndarray) -> None:
        # P(resolved) = planted variant rate + intent offset + 0.6 x (the conversation's good-answer
        # share - its expected value): centred, so the planted rates are the marginal rates
        # (apart from the dip during the quality regression)
        g = np.where(answered[convs] > 0, good_count[convs] / np.maximum(answered[convs], 1), g_expected[convs])
        p = np.clip(p_res_v[convs] + off[intent[convs]] + 0.6 * (g - g_expected[convs])
                    + user_res[convs], 0.02, 0.98)
        resolved_true[convs] = u_res[convs] < p

    prev_ts = None
    for k in range(6):
        convs = np.flatnonzero(n_turns > k)
        if len(convs) == 0:
            break
        rows = row_start[convs] + k
        # when the user's message arrives (the request), and which windows it falls in
        if k == 0:
            req = conv_start[convs]
        else:
            req = prev_ts[n_turns[prev_convs] > k] + (gap_s[rows] * sec_ns).astype(np.int64)
        in_lat[rows] = (req >= lat_ns[0]) & (req < lat_ns[1])
        in_reg[rows] = (req >= reg_ns[0]) & (req < reg_ns[1])
        it = intent[convs]
        # user message
        is_close = closing[rows]
        if k == 0:
            user_tid[rows] = tpl.pick("first", it, u_tpl_user[rows], n_int)
        else:
            # a clarification; after a poor answer the user is more often confused
            prev_good = kind[rows - 1] == _GOOD
            uf, ut = u_follow_generic[rows], u_tpl_user[rows]
            t_follow = np.where(
                prev_good,
                np.where(uf < 0.35, tpl.pick("follow_neutral", it, ut, n_int), tpl.pick("follow", it, ut, n_int)),
                np.where(uf < 0.7, tpl.pick("follow_confused", it, ut, n_int), tpl.pick("follow", it, ut, n_int)),
            )
            if is_close.any():
                decide_resolution(convs[is_close])
            res = resolved_true[convs]
            t_close = np.where(res, tpl.pick("close_res_user", it, u_tpl_user[rows], n_int),
                               tpl.pick("close_unres_user", it, u_tpl_user[rows], n_int))
            user_tid[rows] = np.where(is_close, t_close, t_follow)
        # answer kind
        pg = np.clip(p_good_v[convs] - good_rate_drop * in_reg[rows], 0.0, 1.0)
        cut = pg[:, None] + (1.0 - pg)[:, None] * _BAD_CUM[None, :]
        kd = (u_kind[rows][:, None] >= cut).sum(axis=1).astype(np.int8)
        # errors (timeouts and rate limits), more timeouts during the latency incident
        p_err = np.where(in_lat[rows], p_err_incident, err_by_hour[(req // hour_ns) % 24])
        is_err = u_err[rows] < p_err
        e_kind = np.where(in_lat[rows] | (u_err_kind[rows] < 0.6), 1, 2)
        err[rows] = np.where(is_err, e_kind, 0)
        kd = np.where(is_err, _GENERIC, kd).astype(np.int8)
        kind[rows] = kd
        if not is_close.all():
            nc = ~is_close
            good_count[convs[nc]] += kd[nc] == _GOOD
            answered[convs[nc]] += 1
        # bot answer template
        ub = u_tpl_bot[rows]
        res = resolved_true[convs]
        good_t = np.where(
            is_close,
            np.where(res, tpl.pick("close_res_bot", it, ub, n_int), tpl.pick("close_unres_bot", it, ub, n_int)),
            tpl.pick("good", it, ub, n_int),
        )
        other = (it + u_other[rows]) % n_int
        off_t = tpl.pick("good", other, ub, n_int)
        garb_t = np.where(u_leak[rows] < 0.15, tpl.pick("leaked", it, ub, n_int), tpl.pick("garbled", it, ub, n_int))
        tid = np.select([kd == _GOOD, kd == _GENERIC, kd == _OFF], [good_t, tpl.pick("generic", it, ub, n_int), off_t], garb_t)
        tid = np.where(is_err, tpl.pick("error", it, ub, n_int), tid)
        bot_tid[rows] = tid
        src = np.where(kd == _OFF, (convs + 1 + u_other[rows] * 7919) % n_conv, convs)
        bot_src[rows] = src
        blen = tpl.lengths(tid, src, slot_len)
        bot_len[rows] = blen
        # response time: model latency + per-token generation, lognormal noise, incident factor
        ctok = np.maximum(1.0, blen / 4.0)
        m = model[convs]
        r = (base[m] + per_tok[m] * ctok) * rt_noise[rows]
        r = np.where(in_lat[rows], r * latency_factor, r)
        r = np.where(err[rows] == 1, 30.0 + 0.5 * rt_noise[rows], r)  # timeout after 30 s
        r = np.where(err[rows] == 2, 0.15 * rt_noise[rows], r)         # rate limit: fast failure
        r = np.round(r, 3)
        rt[rows] = r
        cur_ts = req + (r * sec_ns).astype(np.int64)
        cur_ts = (cur_ts // 1_000_000) * 1_000_000  # millisecond resolution
        ts[rows] = cur_ts
        # conversations whose last turn was this one and had no closing message
        done = (n_turns[convs] == k + 1) & ~has_closing[convs]
        if done.any():
            decide_resolution(convs[done])
        prev_ts, prev_convs = cur_ts, convs

    # ---- texts --------------------------------------------------------------------------------
    user_text = tpl.render(user_tid, conv_of, slots, n_conv)
    # half of the first messages add a detail sentence ("I've tried to log in five times now.")
    with_detail = np.flatnonzero(u_detail[0] < 0.5)
    detail_tid = tpl.pick("detail", intent[with_detail], u_detail[1][with_detail], n_int)
    has_detail = np.zeros(n_rows, dtype=bool)
    has_detail[row_start[with_detail]] = True
    mask = pa.array(has_detail)
    user_text = pc.replace_with_mask(
        user_text, mask, _join(user_text.filter(mask), " ", tpl.render(detail_tid, with_detail, slots, n_conv))
    )
    bot_text = tpl.render(bot_tid, bot_src, slots, n_conv)
    user_text = _add_noise(rng, user_text, turn == 0)

    # ---- tokens and cost -----------------------------------------------------------------------
    sys_tokens = np.where(variant_b, 310, 220)
    user_tok = np.maximum(1, np.round(pc.utf8_length(user_text).to_numpy() / 4.0 * tok_noise[0])).astype(np.int64)
    comp_tok = np.maximum(1, np.round(bot_len / 4.0 * tok_noise[1])).astype(np.int64)
    pair = user_tok + comp_tok
    cum = np.cumsum(pair)
    history = cum - pair - (cum - pair)[row_start][conv_of]  # tokens of earlier turns in the conversation
    prompt_tok = sys_tokens[conv_of] + history + user_tok
    price_p = np.array([MODELS[m]["price_prompt_per_1k"] for m in model_names])[model[conv_of]]
    price_c = np.array([MODELS[m]["price_completion_per_1k"] for m in model_names])[model[conv_of]]
    cost = np.round(prompt_tok / 1000.0 * price_p + comp_tok / 1000.0 * price_c, 8)
    failed = err > 0
    error_text = np.array(["", "TimeoutError: upstream model did not respond within 30 s",
                           "RateLimitError: 429 Too Many Requests"], dtype=object)[err]

    # ---- resolution, satisfaction --------------------------------------------------------------
    kinds_per_conv = np.zeros((n_conv, 4))
    np.add.at(kinds_per_conv, (conv_of, kind.astype(np.int64)), 1.0)
    good_share = kinds_per_conv[:, _GOOD] / n_turns
    garbled_share = kinds_per_conv[:, _GARBLED] / n_turns
    sat_mean = np.clip(0.30 + 0.35 * resolved_true + 0.25 * good_share - 0.15 * garbled_share, 0.02, 0.98)
    kappa = 6.0
    sat = rng.beta(sat_mean * kappa, (1 - sat_mean) * kappa)
    sat = np.round(sat, 2)
    sat_observed = rng.random(n_conv) < 0.6
    res_observed = rng.random(n_conv) >= 0.07

    # ---- frames --------------------------------------------------------------------------------
    width = max(6, len(str(n_conv)))
    cid_pa = _join("c", _num(np.arange(1, n_conv + 1), width))
    uid_pa = _join("u", _num(user + 1, max(6, len(str(n_users)))))
    bot_pa = pa.array(bot_names, type=pa.string()).take(bot)
    var_pa = pa.array(["A", "B"], type=pa.string()).take(variant_b.astype(np.int64))
    model_pa = pa.array(model_names, type=pa.string()).take(model)
    conv_pa = pa.array(conv_of)
    turns = pd.DataFrame(
        {
            "conversation_id": _str(cid_pa.take(conv_pa)),
            "turn": turn.astype(np.int64),
            "timestamp": pd.DatetimeIndex(ts.astype("datetime64[ns]")).tz_localize("UTC"),
            "user_id": _str(uid_pa.take(conv_pa)),
            "bot_id": _str(bot_pa.take(conv_pa)),
            "variant": _str(var_pa.take(conv_pa)),
            "model": _str(model_pa.take(conv_pa)),
            "user_input": _str(user_text),
            "bot_response": _str(bot_text),
            "response_time_s": rt,
            "prompt_tokens": pd.arrays.IntegerArray(prompt_tok, failed.copy()),
            "completion_tokens": pd.arrays.IntegerArray(comp_tok, failed.copy()),
            "cost_usd": np.where(failed, np.nan, cost),
            "error": _str(pa.array(error_text, type=pa.string(), mask=~failed)),
        }
    )
    end_ts = ts[row_start + n_turns - 1]
    convs_df = pd.DataFrame(
        {
            "conversation_id": _str(cid_pa),
            "user_id": _str(uid_pa),
            "bot_id": _str(bot_pa),
            "variant": _str(var_pa),
            "start_time": pd.DatetimeIndex(conv_start.astype("datetime64[ns]")).tz_localize("UTC"),
            "end_time": pd.DatetimeIndex(end_ts.astype("datetime64[ns]")).tz_localize("UTC"),
            "satisfaction": np.where(sat_observed, sat, np.nan),
            "resolved": pd.array(np.where(res_observed, resolved_true, None), dtype="boolean"),
        }
    )
    log = validate(turns, convs_df, source=f"generate_sample(seed={seed})")

    # ---- truth ---------------------------------------------------------------------------------
    # the answer-kind sequence of a conversation as one integer (base 4, plus its length)
    code = np.zeros(n_conv, dtype=np.int64)
    np.add.at(code, conv_of, kind.astype(np.int64) * 4 ** turn)
    code = code * 8 + n_turns
    uniq, inv = np.unique(code, return_inverse=True)
    seqs = [[ANSWER_KINDS[(c // 8 // 4 ** j) % 4] for j in range(c % 8)] for c in uniq.tolist()]
    conv_truth = {
        c: {"intent": names[i], "answer_kinds": list(seqs[j])}
        for c, i, j in zip(cid_pa.to_pylist(), intent.tolist(), inv.tolist())
    }
    vb_rows = variant_b[conv_of]
    good_rows = kind == _GOOD

    def by_variant(values: np.ndarray, is_b: np.ndarray) -> dict[str, float | None]:
        out = {}
        for name, sel in (("A", ~is_b), ("B", is_b)):
            out[name] = _round(values[sel].mean()) if sel.any() else None
        return out

    gA, gB = good_rate
    garb = _BAD_SPLIT[2]
    sat_exp = {v: 0.30 + 0.35 * r + 0.25 * g - 0.15 * garb * (1 - g) for v, r, g in (("A", resolution[0], gA), ("B", resolution[1], gB))}
    sat_obs_vals = np.where(sat_observed, sat, np.nan)
    truth = {
        "seed": int(seed),
        "start": _iso(t0_ns),
        "end": _iso(t0_ns + days * 24 * hour_ns),
        "n_conversations": int(n_conv),
        "n_turns": int(n_rows),
        "intents": names,
        "intent_weights": {n: _round(x) for n, x in zip(names, w)},
        "conversations": conv_truth,
        "answer_kinds": list(ANSWER_KINDS),
        "answer_kind_probabilities": {
            "note": "per turn, before errors; good depends on the variant, the rest split 60/27/13",
            "good": {"A": gA, "B": gB},
            "generic_off_topic_garbled_split": [_round(x) for x in _BAD_SPLIT],
        },
        "variants": {
            "control": "A",
            "treatment": ["B"],
            "unit": "conversation",
            "allocation": {"A": 0.5, "B": 0.5},
            "effects": {
                "resolved": {
                    "A": resolution[0], "B": resolution[1],
                    "abs_lift": _round(resolution[1] - resolution[0]),
                    "observed": by_variant(resolved_true[res_observed].astype(float), variant_b[res_observed]),
                    "user_sd": user_resolution_sd,
                    "note": "planted P(resolved) per conversation; the realised rate also moves "
                            "with the conversation's good-answer share (centred on the variant rate), "
                            "with a per-user offset (sd user_sd, centred over conversations) "
                            "and dips during the quality regression",
                },
                "good_answer_rate": {
                    "A": gA, "B": gB, "abs_lift": _round(gB - gA),
                    "observed": by_variant(good_rows.astype(float), vb_rows),
                    "note": "planted per-turn probability of a good answer outside the quality "
                            "regression; error turns count as generic",
                },
                "satisfaction": {
                    "A": _round(sat_exp["A"]), "B": _round(sat_exp["B"]),
                    "abs_lift": _round(sat_exp["B"] - sat_exp["A"]),
                    "observed": by_variant(np.nan_to_num(sat_obs_vals)[sat_observed], variant_b[sat_observed]),
                    "model": "satisfaction ~ Beta(mean*6, (1-mean)*6), mean = 0.30 + 0.35*resolved "
                             "+ 0.25*good_share - 0.15*garbled_share; observed for ~60% of "
                             "conversations; the expected means above follow from the planted rates",
                },
            },
            "system_prompt_tokens": {"A": 220, "B": 310},
        },
        "incidents": [
            {"kind": "latency", "metric": "response_time_s", "start": _iso(lat_ns[0]),
             "end": _iso(lat_ns[1]), "factor": latency_factor,
             "error_rate": p_err_incident,
             "note": "turns whose user message arrived in [start, end): response times x factor, "
                     "more timeouts"},
            {"kind": "quality_regression", "metric": "quality", "start": _iso(reg_ns[0]),
             "end": _iso(reg_ns[1]), "good_rate_drop": good_rate_drop,
             "note": "turns whose user message arrived in [start, end): good-answer probability "
                     "lowered by good_rate_drop"},
        ],
        "trend": {"volume_growth_per_day": growth_per_day},
        "seasonality": {
            "daily": True, "weekly": True,
            "daily_profile_utc": [_round(x, 4) for x in _DAILY],
            "weekly_profile_mon_sun": [_round(x, 4) for x in _WEEKLY],
            "conversations_per_day_at_start": conversations_per_day,
        },
        "errors": {
            "rate": p_err_base, "latency_incident_rate": p_err_incident,
            "by_hour_utc": [_round(x) for x in err_by_hour],
            "types": {"TimeoutError": 0.6, "RateLimitError": 0.4},
            "answer_kind": "generic",
            "note": "rate = traffic-weighted mean; errors follow load (by_hour_utc); failed turns "
                    "carry the error text, a fallback answer, no tokens and no cost",
        },
        "bots": {b: {"share": _BOTS[b][0], "models": _BOTS[b][1]} for b in bot_names},
        "models": {
            m: {"price_prompt_per_1k": MODELS[m]["price_prompt_per_1k"],
                "price_completion_per_1k": MODELS[m]["price_completion_per_1k"],
                "latency_base_s": MODELS[m]["latency_base_s"],
                "latency_per_token_s": MODELS[m]["latency_per_token_s"]}
            for m in model_names
        },
        "n_users": int(len(np.unique(user))),
    }
    return Sample(log=log, truth=truth)


def _add_noise(rng: np.random.Generator, text: "Any", first: np.ndarray) -> "Any":
    """Light, realistic noise on user messages: greetings, typos, case, punctuation, "pls"."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(text)
    u = rng.random((6, n))
    pick = rng.integers(0, 1 << 30, (3, n))

    def apply(arr, mask: np.ndarray, fn):
        if not mask.any():
            return arr
        m = pa.array(mask)
        return pc.replace_with_mask(arr, m, fn(arr.filter(m), mask))

    def apostrophes(x, _):
        for a, b in _APOSTROPHES:
            x = pc.replace_substring(x, a, b)
        return x

    out = apply(text, u[0] < 0.15, apostrophes)  # "cant", "im"
    typo_mask = u[1] < 0.12
    which = (pick[0] % len(_TYPOS))[typo_mask]

    def typos(x, _):  # one typo per message, pairs applied within the (small) subset
        for i, (a, b) in enumerate(_TYPOS):
            x = apply(x, which == i, lambda y, _, a=a, b=b: pc.replace_substring(y, a, b, max_replacements=1))
        return x

    out = apply(out, typo_mask, typos)

    def greet(x, mask):  # "Hi, where is my order?"
        g_idx = pick[1][mask] % len(_GREETINGS)
        lower = np.array([g.endswith(", ") or g.endswith("hi ") for g in _GREETINGS])[g_idx]
        lowered = _join(pc.utf8_lower(pc.utf8_slice_codeunits(x, 0, 1)), pc.utf8_slice_codeunits(x, 1))
        return _join(_take(_GREETINGS, g_idx), pc.if_else(pa.array(lower), lowered, x))

    out = apply(out, first & (u[2] < 0.35), greet)
    out = apply(out, u[3] < 0.3, lambda x, _: pc.utf8_rtrim(x, characters=".!?"))
    out = apply(out, u[4] < 0.1, lambda x, mask: _join(x, _take(_SUFFIXES, pick[2][mask] % len(_SUFFIXES))))
    out = apply(out, u[5] < 0.25, lambda x, _: pc.utf8_lower(x))
    return out


# ------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------

_FILES = ("turns.parquet", "conversations.parquet", "truth.json")


def _truth_json(truth: dict) -> str:
    """Indented JSON with one line per conversation (compact, diff-friendly, deterministic)."""
    marker = "__CONVERSATIONS__"
    convs = truth["conversations"]
    head = {k: (marker if k == "conversations" else v) for k, v in truth.items()}
    text = json.dumps(head, indent=2, ensure_ascii=False)
    lines = ",\n".join(f"    {json.dumps(c)}: {json.dumps(v, separators=(', ', ': '))}" for c, v in convs.items())
    body = "{\n" + lines + "\n  }" if convs else "{}"
    return text.replace(json.dumps(marker), body, 1) + "\n"


def write_sample(out_dir: str | os.PathLike, **kwargs: Any) -> Path:
    """Generate a sample and write ``turns.parquet``, ``conversations.parquet``, ``truth.json``.

    The same arguments give byte-identical files.

    Parameters
    ----------
    out_dir : str or path
        Folder to write into (created if needed; the three files are replaced).
    **kwargs
        Passed to :func:`generate_sample` (``seed``, ``days``, ``conversations``, ``start``, ...);
        or ``sample=`` an already generated :class:`Sample` to write.

    Returns
    -------
    Path
        ``out_dir``.

    Examples
    --------
    >>> import tempfile
    >>> d = write_sample(tempfile.mkdtemp(), seed=1, days=3)
    >>> sorted(p.name for p in d.iterdir())
    ['conversations.parquet', 'truth.json', 'turns.parquet']
    """
    sample = kwargs.pop("sample", None) or generate_sample(**kwargs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write(sample, out)
    return out


def _write(sample: Sample, out: Path) -> None:
    from toolkit.notebook import atomic_write_bytes, atomic_write_text

    for name, frame in (("turns.parquet", sample.log.turns), ("conversations.parquet", sample.log.conversations)):
        buf = frame.to_parquet(index=False, compression="zstd")
        atomic_write_bytes(out / name, buf)
    atomic_write_text(out / "truth.json", _truth_json(sample.truth))
    for name in _FILES:  # readable data files, like any other file in a repository
        os.chmod(out / name, 0o644)


def default_sample_path() -> Path:
    """The folder of the bundled default sample (``data/sample`` next to the package).

    Examples
    --------
    >>> default_sample_path().name
    'sample'
    """
    import toolkit

    return Path(toolkit.__file__).resolve().parents[1] / "data" / "sample"


def _cache_path() -> Path:
    import toolkit

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "chatbot-toolkit" / f"sample-{toolkit.__version__}-seed{DEFAULT_SEED}"


def _sample_folder() -> Path:
    """The bundled sample, or (non-editable installs) a cached copy generated once."""
    bundled = default_sample_path()
    if all((bundled / f).is_file() for f in _FILES):
        return bundled
    cache = _cache_path()
    if all((cache / f).is_file() for f in _FILES):
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
    try:
        write_sample(tmp, seed=DEFAULT_SEED, days=DEFAULT_DAYS, start=DEFAULT_START)
        try:
            tmp.rename(cache)
        except OSError:  # another process won the race
            if not all((cache / f).is_file() for f in _FILES):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return cache


def load_sample():
    """Load the bundled default sample log (60 days, seed 0) as a ConversationLog.

    Reads ``data/sample`` next to the package; when it is missing (a non-editable install) the
    default sample is generated once into ``~/.cache/chatbot-toolkit/`` and read from there.

    Returns
    -------
    ConversationLog

    Examples
    --------
    >>> log = load_sample()
    >>> log.summary()["variants"]
    ['A', 'B']
    """
    import pandas as pd

    from toolkit.log import validate

    folder = _sample_folder()
    turns = pd.read_parquet(folder / "turns.parquet")
    convs = pd.read_parquet(folder / "conversations.parquet")
    return validate(turns, convs, source=str(folder))


def load_sample_truth() -> dict:
    """The truth planted in the bundled default sample (the parsed ``truth.json``).

    Examples
    --------
    >>> truth = load_sample_truth()
    >>> len(truth["intents"]) >= 15
    True
    """
    return json.loads((_sample_folder() / "truth.json").read_text(encoding="utf-8"))
